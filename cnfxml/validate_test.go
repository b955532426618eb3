package cnfxml

import (
	"bytes"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/sipoauth/sdk/diag"
)

func TestValidateGoodFiles(t *testing.T) {
	t.Parallel()
	for _, name := range []string{"CSFrado.cnf.xml", "SEP00562BA1C2D3.cnf.xml"} {
		c, _ := parseFixture(t, name)
		if fs := c.Validate(); len(fs) != 0 {
			t.Errorf("%s: %v", name, fs)
		}
	}
}

func TestValidateFixtures(t *testing.T) {
	t.Parallel()
	const m = "/device/devicePool/callManagerGroup/members"
	cases := []struct {
		file string
		want []diag.Finding // code, severity and path
	}{
		{"warn-oauth-with-digest.cnf.xml", []diag.Finding{
			{Code: CodeTooManyNodes, Severity: diag.Warning, Path: m},
			{Code: CodeDuplicatePriority, Severity: diag.Warning, Path: m + "/member[3]/@priority"},
			{Code: CodeOAuthPortMissing, Severity: diag.Warning, Path: m + "/member[1]/callManager/ports"},
			{Code: CodeLegacyPortName, Severity: diag.Warning, Path: m + "/member[2]/callManager/ports/sipMAOAuthPort"},
			{Code: CodeDigestWithOAuth, Severity: diag.Warning, Path: "/device/sipProfile/sipLines/line"},
			{Code: CodeEncryptedConfigWithOAuth, Severity: diag.Error, Path: "/device/encrConfig"},
			{Code: CodeSecurityModeNotEncrypted, Severity: diag.Error, Path: "/device/deviceSecurityMode"},
		}},
		{"warn-port-conflict.cnf.xml", []diag.Finding{
			{Code: CodePortConflict, Severity: diag.Error, Path: m + "/member[1]/callManager/ports/sipOAuthPort"},
			{Code: CodeOAuthPortRange, Severity: diag.Error, Path: m + "/member[2]/callManager/ports/sipMRAOAuthPort"},
		}},
	}
	for _, tc := range cases {
		c, _ := parseFixture(t, tc.file)
		var got []diag.Finding
		for _, f := range c.Validate() {
			if f.Message == "" || f.Fix == "" {
				t.Errorf("%s: %s has no message or fix", tc.file, f.Code)
			}
			got = append(got, diag.Finding{Code: f.Code, Severity: f.Severity, Path: f.Path})
		}
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s:\n got %v\nwant %v", tc.file, got, tc.want)
		}
	}
}

// TestValidateEachCode starts from the valid Jabber file and breaks one
// thing at a time.
func TestValidateEachCode(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name    string
		change  func(c *Config)
		code    string
		sev     diag.Severity
		path    string
		message string
	}{
		{"mode 2", func(c *Config) { c.SIPOAuthMode = 2 }, CodeOAuthModeInvalid, diag.Error, "/device/sipOAuthMode", "sipOAuthMode is 2"},
		{"mode -1", func(c *Config) { c.SIPOAuthMode = -1 }, CodeOAuthModeInvalid, diag.Error, "/device/sipOAuthMode", "sipOAuthMode is -1"},
		{"OAuth port 1023", func(c *Config) { c.CallManagers[0].Ports.SIPOAuth = 1023 }, CodeOAuthPortRange, diag.Error,
			membersPath + "/member[1]/callManager/ports/sipOAuthPort", "is 1023, outside 1024-49151"},
		{"MRA port 49152", func(c *Config) { c.CallManagers[1].Ports.SIPMRAOAuth = 49152 }, CodeOAuthPortRange, diag.Error,
			membersPath + "/member[2]/callManager/ports/sipMRAOAuthPort", "is 49152"},
		{"OAuth port = secured SIP port", func(c *Config) { c.CallManagers[0].Ports.SIPOAuth = 5061 }, CodePortConflict, diag.Error,
			membersPath + "/member[1]/callManager/ports/sipOAuthPort", "securedSipPort and sipOAuthPort"},
		{"MRA port = OAuth port", func(c *Config) { c.CallManagers[1].Ports.SIPMRAOAuth = 5090 }, CodePortConflict, diag.Error,
			membersPath + "/member[2]/callManager/ports/sipMRAOAuthPort", "sipOAuthPort and sipMRAOAuthPort"},
		{"no OAuth port", func(c *Config) { c.CallManagers[1].Ports.SIPOAuth = 0 }, CodeOAuthPortMissing, diag.Warning,
			membersPath + "/member[2]/callManager/ports", "will assume 5090"},
		{"no MRA port", func(c *Config) { c.CallManagers[1].Ports.SIPMRAOAuth = 0 }, CodeOAuthPortMissing, diag.Warning,
			membersPath + "/member[2]/callManager/ports", "will assume 5091"},
		{"digest", func(c *Config) { c.Lines[0].AuthName, c.Lines[0].AuthPassword = "rado", "s3cret" }, CodeDigestWithOAuth, diag.Warning,
			"/device/sipProfile/sipLines/line", `authName "rado"`},
		{"digest password only", func(c *Config) { c.Lines[0].AuthPassword = "s3cret" }, CodeDigestWithOAuth, diag.Warning,
			"/device/sipProfile/sipLines/line", "digest"},
		{"encrypted config", func(c *Config) { c.EncryptedConfig = true }, CodeEncryptedConfigWithOAuth, diag.Error, "/device/encrConfig", "not supported"},
		{"authenticated", func(c *Config) { c.SecurityMode = Authenticated }, CodeSecurityModeNotEncrypted, diag.Error,
			"/device/deviceSecurityMode", "2 (authenticated)"},
		{"no security mode", func(c *Config) { c.SecurityMode = 0 }, CodeSecurityModeNotEncrypted, diag.Error,
			"/device/deviceSecurityMode", "absent"},
		{"no node", func(c *Config) { c.CallManagers = nil }, CodeNoCallManager, diag.Error, membersPath, "no member"},
		{"four nodes", func(c *Config) {
			c.CallManagers = append(c.CallManagers, CallManager{Priority: 2, Name: "c"}, CallManager{Priority: 3, Name: "d"})
			for i := 2; i < 4; i++ {
				c.CallManagers[i].Ports = stdPorts
			}
		}, CodeTooManyNodes, diag.Warning, membersPath, "4 call managers"},
		{"same priority", func(c *Config) { c.CallManagers[1].Priority = 0 }, CodeDuplicatePriority, diag.Warning,
			membersPath + "/member[2]/@priority", `also the priority of call manager "10.10.10.1"`},
		{"legacy name", func(c *Config) { c.CallManagers[0].Ports.LegacyMRAName = true }, CodeLegacyPortName, diag.Warning,
			membersPath + "/member[1]/callManager/ports/sipMAOAuthPort", "sipMAOAuthPort"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, _ := parseFixture(t, "CSFrado.cnf.xml")
			tc.change(c)
			fs := c.Validate()
			if len(fs) != 1 {
				t.Fatalf("findings %v, want one %s", fs, tc.code)
			}
			f := fs[0]
			if f.Code != tc.code || f.Severity != tc.sev || f.Path != tc.path || !strings.Contains(f.Message, tc.message) {
				t.Fatalf("finding %+v; want %s %v at %s containing %q", f, tc.code, tc.sev, tc.path, tc.message)
			}
		})
	}
}

func TestValidateOAuthOffIgnoresOAuthRules(t *testing.T) {
	t.Parallel()
	c, _ := parseFixture(t, "CSFrado.cnf.xml")
	c.SIPOAuthMode = 0
	c.EncryptedConfig = true
	c.SecurityMode = NonSecure
	c.Lines[0].AuthName = "rado"
	c.CallManagers[0].Ports.SIPOAuth = 0
	if fs := c.Validate(); len(fs) != 0 {
		t.Fatalf("mode 0: %v", fs)
	}
}

// TestKeepGoing: with Reader.KeepGoing, every field that does not parse
// is a finding with its path and value, the rest is still checked, and
// the file is written back byte for byte.
func TestKeepGoing(t *testing.T) {
	src := readFixture(t, "bad-port-not-a-number.cnf.xml")
	src = bytes.Replace(src, []byte("<sipOAuthMode>1</sipOAuthMode>"), []byte("<sipOAuthMode>1</sipOAuthMode>\n<deviceSecurityMode>three</deviceSecurityMode>\n<encrConfig>true</encrConfig>"), 1)
	src = bytes.Replace(src, []byte(`<member  priority="0">`), []byte(`<member  priority="first">`), 1)
	if _, err := Parse(src); !errors.Is(err, ErrBadNumber) {
		t.Fatalf("strict Parse: %v", err)
	}
	c, err := Reader{KeepGoing: true}.Parse(src)
	if err != nil {
		t.Fatal(err)
	}
	const ports = "/device/devicePool/callManagerGroup/members/member/callManager/ports"
	var got []string
	for _, f := range c.Validate() {
		got = append(got, f.Severity.String()+" "+f.Code+" "+f.Path+": "+f.Message)
	}
	want := []string{
		`error bad-number /device/deviceSecurityMode: "three" is not a number`,
		`error bad-number /device/devicePool/callManagerGroup/members/member/@priority: "first" is not a number`,
		`error bad-port ` + ports + `/sipOAuthPort: "50x0" is not a port number (1-65535)`,
		`error encrypted-config-with-oauth /device/encrConfig: encrConfig is true: TFTP Encrypted Config is not supported with SIP OAuth`,
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("findings:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if len(c.FieldErrors) != 3 || c.FieldErrors[2].Value != "50x0" || !errors.Is(c.FieldErrors[2], ErrBadNumber) {
		t.Errorf("FieldErrors %v", c.FieldErrors)
	}
	if c.CallManagers[0].Ports.SIPOAuth != 0 || c.CallManagers[0].Ports.SIPMRAOAuth != 5091 {
		t.Errorf("ports %+v", c.CallManagers[0].Ports)
	}
	if out := c.Bytes(); !bytes.Equal(out, src) {
		t.Errorf("written file differs at byte %d", firstDiff(out, src))
	}
	// A field set anew is written; the others keep their text.
	c.CallManagers[0].Ports.SIPOAuth = 5090
	out := string(c.Bytes())
	if !strings.Contains(out, "<sipOAuthPort>5090</sipOAuthPort>") || !strings.Contains(out, "<deviceSecurityMode>three</deviceSecurityMode>") {
		t.Errorf("after setting the port:\n%s", out)
	}
}

// TestNotXMLPosition: XML that is not well-formed is located by line and
// column.
func TestNotXMLPosition(t *testing.T) {
	for in, want := range map[string]string{
		"<device>\n<a>\n</b>\n</device>":             "cnfxml: not well-formed XML: element <a> closed by </b> at line 3, column 5",
		"<device>\n  <sipOAuthMode>1</sipOAuthMode>": "cnfxml: not well-formed XML: unexpected EOF at line 2, column 33",
	} {
		_, err := Parse([]byte(in))
		var pe *ParseError
		if !errors.As(err, &pe) || !errors.Is(err, ErrNotXML) || err.Error() != want || pe.Line == 0 {
			t.Errorf("%q: %v, want %s", in, err, want)
		}
	}
}
