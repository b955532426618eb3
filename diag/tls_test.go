package diag

import (
	"strings"
	"testing"
)

// TestTLSDiagnosis: each cause gives its code, scenario and alert for the
// side it was seen on, with a message and, but for the unexplained
// failure, a fix.
func TestTLSDiagnosis(t *testing.T) {
	t.Parallel()
	alert := func(side Side, a int) TLSDiagnosis {
		d, ok := TLSAlert(side, a)
		if !ok {
			t.Fatalf("alert %d on side %d not known", a, side)
		}
		return d
	}
	cases := []struct {
		name           string
		d              TLSDiagnosis
		code           string
		scenario, alrt int
	}{
		{"not in table", TLSNotInTable("no name of the peer certificate is in the table"), CodeNotInTable, 3, AlertBadCertificate},
		{"unknown CA at node", TLSUnknownCA(NodeSide, ""), CodeUnknownCAAtNode, 3, AlertUnknownCA},
		{"unknown CA at edge", TLSUnknownCA(EdgeSide, "issued by CN=Node CA"), CodeUnknownCAAtEdge, 2, AlertUnknownCA},
		{"unknown CA at client", TLSUnknownCA(ClientSide, ""), CodeUnknownCAAtClient, 0, AlertUnknownCA},
		{"expired at node", TLSExpired(NodeSide, "x"), CodeCertificateExpired, 3, AlertCertificateExpired},
		{"expired at edge", TLSExpired(EdgeSide, "x"), CodeCertificateExpired, 2, AlertCertificateExpired},
		{"expired at client", TLSExpired(ClientSide, "x"), CodeCertificateExpired, 0, AlertCertificateExpired},
		{"name mismatch", TLSNameMismatch("cucm1", "cucm2"), CodeNodeNameMismatch, 0, AlertBadCertificate},
		{"unknown_ca received by edge", alert(EdgeSide, AlertUnknownCA), CodeUnknownCAAtNode, 3, AlertUnknownCA},
		{"unknown_ca received by client", alert(ClientSide, AlertUnknownCA), CodeUnknownCAAtNode, 3, AlertUnknownCA},
		{"unknown_ca received by node", alert(NodeSide, AlertUnknownCA), CodeUnknownCAAtEdge, 2, AlertUnknownCA},
		{"bad_certificate received by node", alert(NodeSide, AlertBadCertificate), CodeBadCertificate, 2, AlertBadCertificate},
		{"bad_certificate received by edge", alert(EdgeSide, AlertBadCertificate), CodeBadCertificate, 3, AlertBadCertificate},
		{"certificate_expired received by node", alert(NodeSide, AlertCertificateExpired), CodeCertificateExpired, 2, AlertCertificateExpired},
		{"certificate_expired received by edge", alert(EdgeSide, AlertCertificateExpired), CodeCertificateExpired, 3, AlertCertificateExpired},
		{"certificate_required", alert(EdgeSide, AlertCertificateRequired), CodeNoClientCertificate, 0, AlertCertificateRequired},
		{"no client certificate", TLSNoClientCertificate(), CodeNoClientCertificate, 0, AlertCertificateRequired},
		{"unexplained", TLSUnexplained(40, "boom"), CodeHandshakeFailed, 0, 40},
	}
	for _, c := range cases {
		d := c.d
		if d.Code != c.code || d.Scenario != c.scenario || d.Alert != c.alrt || d.Severity != Error || d.Path != "tls" || d.Message == "" ||
			(d.Fix == "") != (c.code == CodeHandshakeFailed) {
			t.Errorf("%s: %+v", c.name, d)
		}
	}
	if d := TLSUnknownCA(EdgeSide, "issued by CN=Node CA"); d.Message != "the edge proxy does not trust the signer of the node's certificate (issued by CN=Node CA)" || d.Fix != FixUnknownCAAtEdge {
		t.Errorf("unknown CA at edge: %+v", d)
	}
	if d := TLSUnknownCA(ClientSide, ""); d.Message != "the client does not trust the signer of the node's certificate" || d.Fix != FixUnknownCAAtClient {
		t.Errorf("unknown CA at client: %+v", d)
	}
	if d := TLSNameMismatch("cucm1", "cucm2"); d.Message != "the node's certificate is not valid for cucm1 (it names cucm2)" || d.Fix != FixNodeNameMismatch {
		t.Errorf("name mismatch: %+v", d)
	}
	for _, a := range []int{0, 40, 46, 80} {
		if d, ok := TLSAlert(EdgeSide, a); ok {
			t.Errorf("alert %d explained: %+v", a, d)
		}
	}
}

// TestEdgeWarning: every text an edge proxy writes for a certificate
// problem is read back, in any case, as the finding of its scenario.
func TestEdgeWarning(t *testing.T) {
	t.Parallel()
	want := map[string]struct {
		code     string
		scenario int
	}{
		CodeUnknownCAAtEdge:     {CodeUnknownCAAtEdge, 2},
		CodeUnknownCAAtNode:     {CodeNodeRefusedEdgeProxy, 3},
		CodeBadCertificate:      {CodeNodeRefusedEdgeProxy, 3},
		CodeNotInTable:          {CodeNodeRefusedEdgeProxy, 3},
		CodeNoClientCertificate: {CodeNodeRefusedEdgeProxy, 3},
		CodeCertificateExpired:  {CodeCertificateExpired, 0},
		CodeNodeNameMismatch:    {CodeNodeNameMismatch, 0},
	}
	for code, w := range want {
		text, ok := EdgeWarningText(code)
		if !ok || text == "" {
			t.Fatalf("%s: no text", code)
		}
		for _, s := range []string{text, strings.ToUpper(text)} {
			d, ok := EdgeWarning("edge1", s)
			if !ok || d.Code != w.code || d.Scenario != w.scenario || d.Path != "Warning" || d.Fix == "" ||
				!strings.Contains(d.Message, `(edge1 says "`+s+`")`) {
				t.Errorf("%s: %q read as %+v", code, s, d)
			}
		}
	}
	for _, code := range []string{CodeUnknownCAAtClient, CodeHandshakeFailed, "upstream-timeout", ""} {
		if text, ok := EdgeWarningText(code); ok {
			t.Errorf("%s has text %q", code, text)
		}
	}
	for _, text := range []string{"", "TLS to the registrar failed", "Registrar unreachable", "Edge proxy does not trust the registrar"} {
		if d, ok := EdgeWarning("edge1", text); ok {
			t.Errorf("%q read as %+v", text, d)
		}
	}
}
