package diag_test

import (
	"fmt"

	"github.com/sipoauth/sdk/diag"
)

func ExampleFindings() {
	fs := diag.Findings{{
		Code:     "oauth-port-range",
		Severity: diag.Error,
		Path:     "/device/devicePool/callManagerGroup/members/member[1]/callManager/ports/sipOAuthPort",
		Message:  "sipOAuthPort 80 is outside 1024-49151",
		Fix:      "set a port between 1024 and 49151, 5090 by default",
	}}
	fmt.Println(fs.HasErrors())
	fmt.Println(fs[0])
	// Output:
	// true
	// error oauth-port-range /device/devicePool/callManagerGroup/members/member[1]/callManager/ports/sipOAuthPort: sipOAuthPort 80 is outside 1024-49151
}

// The edge proxy's Warning for a node certificate it does not trust, and
// what the inspectors read back from it: scenario 2.
func ExampleEdgeWarning() {
	text, _ := diag.EdgeWarningText(diag.CodeUnknownCAAtEdge)
	fmt.Println(text)
	d, _ := diag.EdgeWarning("edge1", text)
	fmt.Println(d.Scenario, d.Code)
	fmt.Println(d.Fix)
	// Output:
	// Edge proxy does not trust the registrar certificate
	// 2 unknown-ca-at-edge-proxy
	// upload the CA that signed the node's Tomcat certificate to Expressway-C's trusted CA list
}

func ExampleTLSUnknownCA() {
	d := diag.TLSUnknownCA(diag.NodeSide, "issued by CN=Expressway CA")
	fmt.Println(d.Scenario, d.Alert, d.Finding)
	// Output:
	// 3 48 error unknown-ca-at-node tls: the node does not trust the signer of the edge proxy's certificate (issued by CN=Expressway CA)
}
