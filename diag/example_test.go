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
