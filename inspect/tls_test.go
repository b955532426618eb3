package inspect

import (
	"errors"
	"reflect"
	"testing"

	"github.com/sipoauth/sdk/diag"
)

func TestCheckTLS(t *testing.T) {
	t.Parallel()
	cases := []struct {
		text     string
		side     string
		code     string
		scenario int
		alert    int
		remote   bool
	}{
		{"remote error: tls: unknown certificate authority", "", CodeUnknownCAAtNode, 3, 48, true},
		{"remote error: tls: unknown certificate authority", "node", CodeUnknownCAAtEdge, 2, 48, true},
		{"tls: failed to verify certificate: x509: certificate signed by unknown authority", "node", CodeUnknownCAAtNode, 3, 48, false},
		{"tls: failed to verify certificate: x509: certificate signed by unknown authority", "edge", CodeUnknownCAAtEdge, 2, 48, false},
		{"remote error: tls: bad certificate", "edge", CodeBadCertificate, 3, 42, true},
		{"remote error: tls: bad certificate", "node", CodeBadCertificate, 2, 42, true},
		{"Received fatal alert: bad_certificate", "edge-proxy", CodeBadCertificate, 3, 42, true},
		{"SSL alert number 48", "", CodeUnknownCAAtNode, 3, 48, true},
		{"alert(48)", "node", CodeUnknownCAAtEdge, 2, 48, true},
		{"Alert (Level: Fatal, Description: Unknown CA (48))", "EXPRESSWAY", CodeUnknownCAAtNode, 3, 48, true},
		{"remote error: tls: expired certificate", "edge", CodeCertificateExpired, 3, 45, true},
		{"remote error: tls: expired certificate", "node", CodeCertificateExpired, 2, 45, true},
		{"tls: failed to verify certificate: x509: certificate has expired or is not yet valid: current time 2024-05-01T10:00:00Z is after 2024-04-30T00:00:00Z",
			"node", CodeCertificateExpired, 3, 45, false},
		{"remote error: tls: certificate required", "edge", CodeNoClientCertificate, 0, 116, true},
		{"tls: client didn't provide a certificate", "node", CodeNoClientCertificate, 0, 116, false},
		{"tls: client didn't provide a certificate", "edge", CodeHandshakeFailed, 0, 0, false},
		{"mtlstrust: no name of the peer certificate (DNS expc9.example.com) is in the edge-proxy table", "node", CodeNotInTable, 3, 42, false},
		{"tls: failed to verify certificate: x509: certificate is valid for cucm-pub.example.com, 10.10.10.1, not cucm-sub.example.com", "edge", CodeNodeNameMismatch, 0, 42, false},
		{"local error: tls: bad record MAC", "edge", CodeHandshakeFailed, 0, 0, false},
		{"remote error: tls: handshake failure", "edge", CodeHandshakeFailed, 0, 0, false},
		{"local error: tls: bad certificate", "edge", CodeHandshakeFailed, 0, 42, false},
	}
	for _, tc := range cases {
		t.Run(tc.text+"/"+tc.side, func(t *testing.T) {
			r, err := Check(KindTLS, []byte(tc.text), Options{Side: tc.side})
			if err != nil {
				t.Fatal(err)
			}
			side := SideEdge
			if tc.side == "node" {
				side = SideNode
			}
			want := &TLSView{Side: side, Alert: tc.alert, Remote: tc.remote, Scenario: tc.scenario}
			if len(r.Findings) != 1 || r.Findings[0].Code != tc.code || r.Findings[0].Path != "tls" || r.Findings[0].Severity != diag.Error ||
				!reflect.DeepEqual(r.TLS, want) {
				t.Fatalf("findings %+v, view %+v; want %s %+v", r.Findings, r.TLS, tc.code, want)
			}
		})
	}
}

func TestCheckTLSMessages(t *testing.T) {
	t.Parallel()
	cases := []struct {
		text, side string
		want       diag.Finding
	}{
		{"x509: certificate is valid for cucm-pub.example.com, 10.10.10.1, not cucm-sub.example.com", "edge",
			diag.Finding{Code: CodeNodeNameMismatch, Severity: diag.Error, Path: "tls",
				Message: "the node's certificate is not valid for cucm-sub.example.com (it names cucm-pub.example.com, 10.10.10.1)",
				Fix:     "connect to a name the Tomcat certificate carries, or reissue it with this name as a SAN"}},
		{"x509: certificate is not valid for any names, but wanted to match cucm-sub", "edge",
			diag.Finding{Code: CodeNodeNameMismatch, Severity: diag.Error, Path: "tls",
				Message: "the node's certificate is not valid for cucm-sub (it names )",
				Fix:     "connect to a name the Tomcat certificate carries, or reissue it with this name as a SAN"}},
		{`x509: certificate signed by unknown authority (possibly because of "x509: ECDSA verification failure" while trying to verify candidate authority certificate "Lab CA")`, "node",
			diag.Finding{Code: CodeUnknownCAAtNode, Severity: diag.Error, Path: "tls",
				Message: "the node does not trust the signer of the edge proxy's certificate (the candidate signer Lab CA did not verify it)",
				Fix:     "upload the CA that signed the Expressway-C certificate to the node's tomcat-trust; it is reloaded without a restart"}},
		{"mtlstrust: peer certificate presents no name to match against the edge-proxy table", "node",
			diag.Finding{Code: CodeNotInTable, Severity: diag.Error, Path: "tls",
				Message: "the edge proxy's certificate verified, but peer certificate presents no name to match against the edge-proxy table",
				Fix:     "on Expressway-C, refresh the Unified CM discovery so that it pushes its names (Device > Expressway-C), or add the certificate's CN or SAN to the table"}},
		{"remote error: tls: handshake failure", "edge",
			diag.Finding{Code: CodeHandshakeFailed, Severity: diag.Error, Path: "tls", Message: "TLS handshake failed: remote error: tls: handshake failure"}},
	}
	for _, tc := range cases {
		r, err := Check(KindTLS, []byte(tc.text+"\n"), Options{Side: tc.side})
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(r.Findings, diag.Findings{tc.want}) {
			t.Errorf("%q:\n got %+v\nwant %+v", tc.text, r.Findings, tc.want)
		}
	}
	if _, err := Check(KindTLS, []byte("alert 48"), Options{Side: "phone"}); !errors.Is(err, ErrBadOption) ||
		err.Error() != `inspect: invalid option: side "phone": want node, edge or client` {
		t.Fatalf("bad side: %v", err)
	}
}

func TestAlertIn(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]int{
		"alert 48": 48, "alert(42)": 42, "ssl alert number 45": 45, "alert: 116": 116, "alert #48": 48,
		"alert 480": 0, "alert 40": 0, "alert": 0, "alerted 48": 0, "no alert here, 48": 0, "alert 1 alert 48": 48,
	} {
		if got := alertIn(in); got != want {
			t.Errorf("alertIn(%q) = %d, want %d", in, got, want)
		}
	}
}
