package cnfxml

import (
	"bytes"
	"errors"
	"os"
	"reflect"
	"strings"
	"testing"
)

func readFixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func parseFixture(t testing.TB, name string) (*Config, []byte) {
	t.Helper()
	b := readFixture(t, name)
	c, err := Parse(b)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return c, b
}

// model returns c's exported fields only, for comparisons.
func model(c *Config) Config {
	m := Config{
		DeviceName: c.DeviceName, Protocol: c.Protocol, SecurityMode: c.SecurityMode,
		TransportLayerProtocol: c.TransportLayerProtocol, SIPOAuthMode: c.SIPOAuthMode,
		EncryptedConfig: c.EncryptedConfig, LoadInformation: c.LoadInformation,
		VersionStamp: c.VersionStamp, UserID: c.UserID, OwnerID: c.OwnerID,
	}
	for _, cm := range c.CallManagers {
		cm.el = nil
		m.CallManagers = append(m.CallManagers, cm)
	}
	for _, l := range c.Lines {
		l.el = nil
		m.Lines = append(m.Lines, l)
	}
	return m
}

var stdPorts = Ports{EthernetPhone: 2000, SIP: 5060, SecuredSIP: 5061, SIPOAuth: 5090, SIPMRAOAuth: 5091}

func TestParseCSF(t *testing.T) {
	t.Parallel()
	c, _ := parseFixture(t, "CSFrado.cnf.xml")
	want := Config{
		Protocol: "SIP", SecurityMode: Encrypted, TransportLayerProtocol: 4, SIPOAuthMode: 1,
		VersionStamp: "1611743254-7e5b3c2a-8d41-4f0e-b6a9-2c1d0e9f8a7b", UserID: "rado", OwnerID: "rado",
		CallManagers: []CallManager{
			{Priority: 0, Name: "10.10.10.1", Description: "ccm12pub", ProcessNodeName: "ccm12pub", Ports: stdPorts},
			{Priority: 1, Name: "10.10.10.2", Description: "ccm12sub", ProcessNodeName: "ccm12sub", Ports: stdPorts},
		},
		Lines: []Line{{Button: 1, FeatureID: 9, Name: "1234", DisplayName: "Rado Example", Proxy: "USECALLMANAGER", Port: 5060, Contact: "1234"}},
	}
	if got := model(c); !reflect.DeepEqual(got, want) {
		t.Fatalf("model\n got %+v\nwant %+v", got, want)
	}
}

func TestParseHardwarePhone(t *testing.T) {
	t.Parallel()
	c, _ := parseFixture(t, "SEP00562BA1C2D3.cnf.xml")
	want := Config{
		Protocol: "SIP", SecurityMode: Encrypted, TransportLayerProtocol: 4, SIPOAuthMode: 0,
		LoadInformation: "sip8845_65.14-1-1-0001-125",
		VersionStamp:    "1585566188-a4b1c9e2-1f2d-4c3b-9a8e-7d6c5b4a3f21", UserID: "jsmith", OwnerID: "jsmith",
		CallManagers: []CallManager{
			{Priority: 0, Name: "cucm-pub.example.com", Description: "cucm-pub.example.com", ProcessNodeName: "cucm-pub.example.com", Ports: stdPorts},
			{Priority: 1, Name: "cucm-sub1.example.com", Description: "cucm-sub1.example.com", ProcessNodeName: "cucm-sub1.example.com", Ports: stdPorts},
			{Priority: 2, Name: "10.10.10.3", Description: "cucm-sub2.example.com", ProcessNodeName: "cucm-sub2.example.com", Ports: stdPorts},
		},
		Lines: []Line{
			{Button: 1, FeatureID: 9, Name: "1001", DisplayName: "John Smith", Proxy: "USECALLMANAGER", Port: 5060, Contact: "1001"},
			{Button: 2, FeatureID: 9, Name: "1002", DisplayName: "Support Hotline", Proxy: "USECALLMANAGER", Port: 5060, Contact: "1002"},
		},
	}
	if got := model(c); !reflect.DeepEqual(got, want) {
		t.Fatalf("model\n got %+v\nwant %+v", got, want)
	}
}

func TestParseSortsByPriority(t *testing.T) {
	t.Parallel()
	src := `<device><devicePool><callManagerGroup><members>` +
		`<member priority="2"><callManager><name>c</name></callManager></member>` +
		`<member priority="0"><callManager><name>a</name></callManager></member>` +
		`<member priority="1"><callManager><name>b</name></callManager></member>` +
		`</members></callManagerGroup></devicePool></device>`
	c, err := Parse([]byte(src))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, cm := range c.CallManagers {
		names = append(names, cm.Name)
	}
	if strings.Join(names, "") != "abc" {
		t.Fatalf("order %v, want a b c", names)
	}
	// Writing without changes keeps the file's own order.
	if out := string(c.Bytes()); out != src {
		t.Fatalf("unchanged write reordered the file:\n%s", out)
	}
}

// TestRoundTripIsExact: a file written back without changes is the file
// that was read, byte for byte, quirks included.
func TestRoundTripIsExact(t *testing.T) {
	t.Parallel()
	for _, name := range []string{"CSFrado.cnf.xml", "SEP00562BA1C2D3.cnf.xml", "warn-oauth-with-digest.cnf.xml"} {
		c, b := parseFixture(t, name)
		out := c.Bytes()
		if !bytes.Equal(out, b) {
			t.Errorf("%s: written file differs from the original at byte %d", name, firstDiff(out, b))
		}
		for _, quirk := range []string{`<device  xsi:type="axl:XIPPhone"`, `<member  priority="0">`} {
			if bytes.Contains(b, []byte(quirk)) && !bytes.Contains(out, []byte(quirk)) {
				t.Errorf("%s: lost %s", name, quirk)
			}
		}
	}
}

func firstDiff(a, b []byte) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}

// lineDiff returns the lines of a that b lacks and those of b that a lacks.
func lineDiff(a, b []byte) (gone, added []string) {
	al, bl := strings.Split(string(a), "\n"), strings.Split(string(b), "\n")
	count := map[string]int{}
	for _, l := range bl {
		count[l]++
	}
	for _, l := range al {
		if count[l] > 0 {
			count[l]--
		} else {
			gone = append(gone, l)
		}
	}
	count = map[string]int{}
	for _, l := range al {
		count[l]++
	}
	for _, l := range bl {
		if count[l] > 0 {
			count[l]--
		} else {
			added = append(added, l)
		}
	}
	return gone, added
}

// TestChangeOneField: changing one field changes one line of the file.
func TestChangeOneField(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name        string
		file        string
		change      func(c *Config)
		gone, added []string
	}{
		{"enable OAuth", "SEP00562BA1C2D3.cnf.xml", func(c *Config) { c.SIPOAuthMode = 1 },
			[]string{"<sipOAuthMode>0</sipOAuthMode>"}, []string{"<sipOAuthMode>1</sipOAuthMode>"}},
		{"OAuth port of the second node", "SEP00562BA1C2D3.cnf.xml", func(c *Config) { c.CallManagers[1].Ports.SIPOAuth = 5190 },
			[]string{"<sipOAuthPort>5090</sipOAuthPort>"}, []string{"<sipOAuthPort>5190</sipOAuthPort>"}},
		{"a line's display name", "CSFrado.cnf.xml", func(c *Config) { c.Lines[0].DisplayName = `Rado "R" O'Neil & co` },
			[]string{"<displayName>Rado Example</displayName>"}, []string{`<displayName>Rado "R" O'Neil &amp; co</displayName>`}},
		{"priority", "CSFrado.cnf.xml", func(c *Config) { c.CallManagers[1].Priority = 2 },
			[]string{`<member  priority="1">`}, []string{`<member  priority="2">`}},
		{"security mode", "CSFrado.cnf.xml", func(c *Config) { c.SecurityMode = Authenticated },
			[]string{"<deviceSecurityMode>3</deviceSecurityMode>"}, []string{"<deviceSecurityMode>2</deviceSecurityMode>"}},
		{"encrypted config", "CSFrado.cnf.xml", func(c *Config) { c.EncryptedConfig = true },
			[]string{"<encrConfig>false</encrConfig>"}, []string{"<encrConfig>true</encrConfig>"}},
		{"version stamp", "CSFrado.cnf.xml", func(c *Config) { c.VersionStamp = "1700000000-x" },
			[]string{"<versionStamp>1611743254-7e5b3c2a-8d41-4f0e-b6a9-2c1d0e9f8a7b</versionStamp>"}, []string{"<versionStamp>1700000000-x</versionStamp>"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, b := parseFixture(t, tc.file)
			tc.change(c)
			out := c.Bytes()
			gone, added := lineDiff(b, out)
			if !reflect.DeepEqual(gone, tc.gone) || !reflect.DeepEqual(added, tc.added) {
				t.Fatalf("removed %q added %q; want removed %q added %q", gone, added, tc.gone, tc.added)
			}
			again, err := Parse(out)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(model(again), model(c)) {
				t.Fatalf("reparse differs:\n got %+v\nwant %+v", model(again), model(c))
			}
			// Writing twice changes nothing more.
			if out2 := c.Bytes(); !bytes.Equal(out2, out) {
				t.Fatal("second write differs")
			}
		})
	}
}

func TestLegacyMRAPortName(t *testing.T) {
	t.Parallel()
	c, b := parseFixture(t, "warn-oauth-with-digest.cnf.xml")
	var legacy *CallManager
	for i := range c.CallManagers {
		if c.CallManagers[i].Ports.LegacyMRAName {
			legacy = &c.CallManagers[i]
		}
	}
	if legacy == nil || legacy.Ports.SIPMRAOAuth != 5091 {
		t.Fatalf("legacy spelling not read: %+v", c.CallManagers)
	}
	// Unchanged, the spelling is kept; changed, Cisco's is written.
	if !bytes.Contains(c.Bytes(), []byte("<sipMAOAuthPort>5091</sipMAOAuthPort>")) {
		t.Fatal("legacy element lost on an unchanged write")
	}
	legacy.Ports.SIPMRAOAuth = 5191
	out := c.Bytes()
	gone, added := lineDiff(b, out)
	if !reflect.DeepEqual(gone, []string{"<sipMAOAuthPort>5091</sipMAOAuthPort>"}) || !reflect.DeepEqual(added, []string{"<sipMRAOAuthPort>5191</sipMRAOAuthPort>"}) {
		t.Fatalf("removed %q added %q", gone, added)
	}
	again, err := Parse(out)
	if err != nil {
		t.Fatal(err)
	}
	for _, cm := range again.CallManagers {
		if cm.Ports.LegacyMRAName {
			t.Fatal("legacy spelling still there")
		}
	}
}

func TestAddAndRemove(t *testing.T) {
	t.Parallel()
	c, _ := parseFixture(t, "CSFrado.cnf.xml")
	c.CallManagers = append(c.CallManagers, CallManager{Priority: 2, Name: "10.10.10.3", ProcessNodeName: "ccm12sub2",
		Ports: Ports{SIPOAuth: 5090, SIPMRAOAuth: 5091}})
	c.Lines = nil
	out := c.Bytes()
	const member = "<member  priority=\"1\">"
	i := bytes.Index(out, []byte(member))
	newMember := "\n<member priority=\"2\">\n<callManager>\n<name>10.10.10.3</name>\n<ports>\n<sipOAuthPort>5090</sipOAuthPort>\n<sipMRAOAuthPort>5091</sipMRAOAuthPort>\n</ports>\n<processNodeName>ccm12sub2</processNodeName>\n</callManager>\n</member>\n</members>"
	if i < 0 || !bytes.Contains(out[i:], []byte("</member>"+newMember)) {
		t.Fatalf("new member not after the last one:\n%s", out)
	}
	if bytes.Contains(out, []byte("<line")) {
		t.Fatal("removed line still written")
	}
	again, err := Parse(out)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(model(again), model(c)) {
		t.Fatalf("reparse:\n got %+v\nwant %+v", model(again), model(c))
	}

	// Removing a node and copying another: the copy keeps the unknown
	// children (mgcpPorts) of the one it came from.
	c, _ = parseFixture(t, "CSFrado.cnf.xml")
	cp := c.CallManagers[0]
	cp.Priority, cp.Name = 5, "10.10.10.9"
	c.CallManagers = []CallManager{c.CallManagers[1], cp}
	out = c.Bytes()
	again, err = Parse(out)
	if err != nil {
		t.Fatal(err)
	}
	if got := model(again).CallManagers; len(got) != 2 || got[0].Name != "10.10.10.2" || got[1].Name != "10.10.10.9" || got[1].Ports != stdPorts {
		t.Fatalf("call managers after copy: %+v", got)
	}
	if n := bytes.Count(out, []byte("<mgcpPorts>")); n != 2 {
		t.Fatalf("%d mgcpPorts, want 2 (the copy keeps unknown children)", n)
	}
	if bytes.Contains(out, []byte("<name>10.10.10.1</name>")) {
		t.Fatal("removed node still written")
	}
}

func TestSetPortToZeroRemovesIt(t *testing.T) {
	t.Parallel()
	c, b := parseFixture(t, "CSFrado.cnf.xml")
	c.CallManagers[0].Ports.SIPMRAOAuth = 0
	gone, added := lineDiff(b, c.Bytes())
	if len(gone) != 1 || gone[0] != "<sipMRAOAuthPort>5091</sipMRAOAuthPort>" || len(added) != 0 {
		t.Fatalf("removed %q added %q", gone, added)
	}
}

func TestParseErrors(t *testing.T) {
	t.Parallel()
	deep := strings.Repeat("<a>", 100) + strings.Repeat("</a>", 100)
	cases := []struct {
		name string
		in   []byte
		rd   Reader
		err  error
		path string
	}{
		{"empty", nil, Reader{}, ErrEmpty, ""},
		{"blank", []byte(" \n\t"), Reader{}, ErrEmpty, ""},
		{"not xml", readFixture(t, "bad-not-xml.cnf.xml"), Reader{}, ErrNotXML, ""},
		{"unclosed", readFixture(t, "bad-unclosed.cnf.xml"), Reader{}, ErrNotXML, ""},
		{"root not device", readFixture(t, "bad-root-not-device.cnf.xml"), Reader{}, ErrRoot, "/phone"},
		{"two roots", readFixture(t, "bad-two-roots.cnf.xml"), Reader{}, ErrTrailing, "/device"},
		{"trailing text", readFixture(t, "bad-trailing-text.cnf.xml"), Reader{}, ErrTrailing, ""},
		{"port not a number", readFixture(t, "bad-port-not-a-number.cnf.xml"), Reader{}, ErrBadNumber,
			"/device/devicePool/callManagerGroup/members/member/callManager/ports/sipOAuthPort"},
		{"too large", readFixture(t, "CSFrado.cnf.xml"), Reader{MaxSize: 4096}, ErrTooLarge, ""},
		{"too deep", []byte("<device>" + deep + "</device>"), Reader{}, ErrTooDeep, ""},
		{"deep within a set limit", []byte("<device>" + deep + "</device>"), Reader{MaxDepth: 200}, nil, ""},
		{"doctype", []byte(`<!DOCTYPE device [<!ENTITY x "y">]><device/>`), Reader{}, ErrNotXML, ""},
		{"mode not a number", []byte(`<device><sipOAuthMode>yes</sipOAuthMode></device>`), Reader{}, ErrBadNumber, "/device/sipOAuthMode"},
		{"encrConfig not a bool", []byte(`<device><encrConfig>maybe</encrConfig></device>`), Reader{}, ErrBadBool, "/device/encrConfig"},
		{"port out of range", []byte(`<device><devicePool><callManagerGroup><members><member priority="0"><callManager><ports><sipPort>70000</sipPort></ports></callManager></member></members></callManagerGroup></devicePool></device>`),
			Reader{}, ErrBadPort, "/device/devicePool/callManagerGroup/members/member/callManager/ports/sipPort"},
		{"port zero", []byte(`<device><devicePool><callManagerGroup><members><member priority="0"><callManager><ports><sipOAuthPort>0</sipOAuthPort></ports></callManager></member></members></callManagerGroup></devicePool></device>`),
			Reader{}, ErrBadPort, "/device/devicePool/callManagerGroup/members/member/callManager/ports/sipOAuthPort"},
		{"priority not a number", []byte(`<device><devicePool><callManagerGroup><members><member priority="first"/><member priority="1"/></members></callManagerGroup></devicePool></device>`),
			Reader{}, ErrBadNumber, "/device/devicePool/callManagerGroup/members/member[1]/@priority"},
		{"line port", []byte(`<device><sipProfile><sipLines><line button="1"/><line button="2"><port>50 60</port></line></sipLines></sipProfile></device>`),
			Reader{}, ErrBadNumber, "/device/sipProfile/sipLines/line[2]/port"},
		{"button", []byte(`<device><sipProfile><sipLines><line button="one"/></sipLines></sipProfile></device>`),
			Reader{}, ErrBadNumber, "/device/sipProfile/sipLines/line/@button"},
		{"namespaced root", []byte(`<x:device xmlns:x="urn:x"/>`), Reader{}, ErrRoot, "/x:device"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, err := tc.rd.Parse(tc.in)
			if tc.err == nil {
				if err != nil || c == nil {
					t.Fatalf("Parse: %v", err)
				}
				return
			}
			if !errors.Is(err, tc.err) || c != nil {
				t.Fatalf("Parse = %v, %v; want %v", c, err, tc.err)
			}
			var pe *ParseError
			if !errors.As(err, &pe) || pe.Path != tc.path {
				t.Fatalf("error %v: path %q, want %q", err, pe.Path, tc.path)
			}
			if tc.path != "" && !strings.Contains(err.Error(), tc.path) {
				t.Fatalf("message %q does not name the path", err)
			}
		})
	}
}

func TestReadLimits(t *testing.T) {
	t.Parallel()
	b := readFixture(t, "CSFrado.cnf.xml")
	if _, err := (Reader{MaxSize: len(b)}).Read(bytes.NewReader(b)); err != nil {
		t.Fatalf("exactly MaxSize: %v", err)
	}
	// Read stops after MaxSize+1 bytes of an endless stream.
	if _, err := (Reader{MaxSize: 1000}).Read(endless{}); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("endless input: %v", err)
	}
	if c, err := Read(bytes.NewReader(b)); err != nil || c.UserID != "rado" {
		t.Fatalf("Read: %v", err)
	}
}

type endless struct{}

func (endless) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = ' '
	}
	return len(p), nil
}

func TestParseFile(t *testing.T) {
	t.Parallel()
	c, err := ParseFile("testdata/CSFrado.cnf.xml")
	if err != nil || c.DeviceName != "CSFrado" || c.FileName() != "CSFrado.cnf.xml" {
		t.Fatalf("ParseFile = %+v, %v", c, err)
	}
	if _, err := ParseFile("testdata/bad-root-not-device.cnf.xml"); !errors.Is(err, ErrRoot) || !strings.Contains(err.Error(), "bad-root-not-device") {
		t.Fatalf("ParseFile error %v should name the file", err)
	}
}
