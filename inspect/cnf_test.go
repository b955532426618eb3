package inspect

import (
	"os"
	"reflect"
	"testing"

	"github.com/sipoauth/sdk/cnfxml"
	"github.com/sipoauth/sdk/diag"
)

func readFile(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestCheckCNF(t *testing.T) {
	t.Parallel()
	r, err := Check(KindCNF, readFile(t, "../cnfxml/testdata/CSFrado.cnf.xml"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	want := &CNFView{
		SIPOAuthMode: 1, SecurityMode: 3, UserID: "rado",
		OnPremises: []Target{
			{Host: "10.10.10.1", Port: 5090, Transport: "TLS", OAuth: true, Priority: 0, ProcessNode: "ccm12pub"},
			{Host: "10.10.10.2", Port: 5090, Transport: "TLS", OAuth: true, Priority: 1, ProcessNode: "ccm12sub"},
		},
		MRA: []Target{
			{Host: "10.10.10.1", Port: 5091, Transport: "TLS", OAuth: true, Priority: 0, ProcessNode: "ccm12pub"},
			{Host: "10.10.10.2", Port: 5091, Transport: "TLS", OAuth: true, Priority: 1, ProcessNode: "ccm12sub"},
		},
	}
	if r.Kind != KindCNF || len(r.Findings) != 0 || r.Findings == nil || !reflect.DeepEqual(r.CNF, want) {
		t.Fatalf("got %+v\nCNF %+v\nwant %+v", r, r.CNF, want)
	}
	if r.Worst() != diag.Info {
		t.Fatalf("Worst = %v", r.Worst())
	}
}

func TestCheckCNFFindings(t *testing.T) {
	t.Parallel()
	r, err := Check(KindCNF, readFile(t, "../cnfxml/testdata/warn-port-conflict.cnf.xml"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	want := diag.Findings{
		{Code: "port-conflict", Severity: diag.Error, Path: "/device/devicePool/callManagerGroup/members/member[1]/callManager/ports/sipOAuthPort",
			Message: `securedSipPort and sipOAuthPort of call manager "10.10.10.1" (priority 0) are both 5061`, Fix: "give each listener of the node its own port"},
		{Code: "oauth-port-range", Severity: diag.Error, Path: "/device/devicePool/callManagerGroup/members/member[2]/callManager/ports/sipMRAOAuthPort",
			Message: `sipMRAOAuthPort of call manager "10.10.10.2" (priority 1) is 80, outside 1024-49151`, Fix: "set a port between 1024 and 49151 in System > Cisco Unified CM"},
	}
	if !reflect.DeepEqual(r.Findings, want) {
		t.Fatalf("findings\n%v\nwant\n%v", r.Findings, want)
	}
	if r.Worst() != diag.Error || r.CNF.OnPremises[0].Port != 5061 || r.CNF.MRA[1].Port != 80 {
		t.Fatalf("worst %v, view %+v", r.Worst(), r.CNF)
	}

	r, err = Check(KindCNF, readFile(t, "../cnfxml/testdata/warn-oauth-with-digest.cnf.xml"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	codes := []string{"too-many-nodes", "duplicate-priority", "oauth-port-missing", "legacy-port-name", "digest-with-oauth",
		"encrypted-config-with-oauth", "security-mode-not-encrypted"}
	if !reflect.DeepEqual(r.Findings.Codes(), codes) {
		t.Fatalf("codes %v", r.Findings.Codes())
	}
	if len(r.CNF.OnPremises) != 3 || r.CNF.OnPremises[0].Port != 5090 || !r.CNF.OnPremises[0].DefaultPort {
		t.Fatalf("targets %+v", r.CNF.OnPremises)
	}
}

// TestCheckCNFBadField: a field that does not parse is a finding with its
// path and value, and the rest of the file is checked and shown.
func TestCheckCNFBadField(t *testing.T) {
	t.Parallel()
	r, err := Check(KindCNF, readFile(t, "../cnfxml/testdata/bad-port-not-a-number.cnf.xml"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	want := diag.Findings{
		{Code: cnfxml.CodeBadPort, Severity: diag.Error, Path: "/device/devicePool/callManagerGroup/members/member/callManager/ports/sipOAuthPort",
			Message: `"50x0" is not a port number (1-65535)`,
			Fix:     "set the port in System > Cisco Unified CM and fetch the file again: a client cannot use this port while it is wrong"},
		{Code: cnfxml.CodeSecurityModeNotEncrypted, Severity: diag.Error, Path: "/device/deviceSecurityMode",
			Message: "deviceSecurityMode is absent; SIP OAuth registers over TLS and needs 3 (encrypted)",
			Fix:     "use a phone security profile with device security mode Encrypted and Enable OAuth Authentication checked"},
	}
	if !reflect.DeepEqual(r.Findings, want) {
		t.Fatalf("got %+v\nwant %+v", r.Findings, want)
	}
	if r.CNF == nil || r.CNF.SIPOAuthMode != 1 || len(r.CNF.OnPremises) != 1 || r.CNF.OnPremises[0].Host != "10.10.10.1" {
		t.Fatalf("view %+v", r.CNF)
	}
}

func TestCheckCNFUnreadable(t *testing.T) {
	t.Parallel()
	cases := []struct {
		file, path, message, fix string
	}{
		{"bad-root-not-device.cnf.xml", "/phone", "cnfxml: the root element is not <device> at /phone",
			"check the file: a device configuration file has the root element <device>; fetch it as the client does, from http://<node>:6970/<DEVICE>.cnf.xml"},
		{"bad-two-roots.cnf.xml", "/device", `cnfxml: content after the root element at /device: "a second root element"`,
			"remove what follows the </device> end tag: a configuration file holds one <device> element"},
		{"bad-unclosed.cnf.xml", "/", "cnfxml: not well-formed XML: unexpected EOF at line 16, column 1",
			"paste the whole file as the TFTP service serves it (http://<node>:6970/<DEVICE>.cnf.xml); a file cut short or edited by hand no longer parses"},
	}
	for _, tc := range cases {
		t.Run(tc.file, func(t *testing.T) {
			r, err := Check(KindCNF, readFile(t, "../cnfxml/testdata/"+tc.file), Options{})
			if err != nil {
				t.Fatal(err)
			}
			want := diag.Findings{{Code: CodeCNFUnreadable, Severity: diag.Error, Path: tc.path, Message: tc.message, Fix: tc.fix}}
			if !reflect.DeepEqual(r.Findings, want) || r.CNF != nil {
				t.Fatalf("got %+v\nwant %+v", r, want)
			}
		})
	}
}
