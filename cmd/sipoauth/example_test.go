package main

import (
	"fmt"
	"os"
	"strings"
)

// The registration targets of the source document's Jabber configuration.
func Example_cnfTargets() {
	code := run([]string{"cnf", "targets", "../../cnfxml/testdata/CSFrado.cnf.xml"}, os.Stdin, os.Stdout, os.Stderr)
	fmt.Println("exit status", code)
	// Output:
	// device CSFrado: SIP OAuth mode 1 (enabled), security mode 3 (encrypted), user rado
	// on-premises targets, in the order a client tries them:
	//   PRIORITY  HOST        PORT  TRANSPORT  OAUTH  NODE
	//   0         10.10.10.1  5090  TLS        yes    ccm12pub
	//   1         10.10.10.2  5090  TLS        yes    ccm12sub
	// exit status 0
}

// Unified CM's challenge, parsed.
func Example_headerParse() {
	code := run([]string{"header", "parse", `Proxy-Authenticate: Bearer realm="ccmsipline"`}, strings.NewReader(""), os.Stdout, os.Stderr)
	fmt.Println("exit status", code)
	// Output:
	// header  Proxy-Authenticate
	// type    Bearer challenge
	// realm   ccmsipline
	// 1 finding: 1 info
	// info challenge Proxy-Authenticate: a Bearer challenge (realm "ccmsipline"): the registrar asks for an access token
	//   fix: retry the REGISTER with Proxy-Authorization: Bearer token="<access token>", as Jabber answers Unified CM
	// exit status 0
}

// A configuration file that a client cannot register with: exit status 1.
func Example_cnfCheck() {
	code := run([]string{"cnf", "check", "../../cnfxml/testdata/warn-port-conflict.cnf.xml"}, os.Stdin, os.Stdout, os.Stderr)
	fmt.Println("exit status", code)
	// Output:
	// device warn-port-conflict: SIP OAuth mode 1 (enabled), security mode 3 (encrypted)
	// 2 findings: 2 errors
	// error port-conflict /device/devicePool/callManagerGroup/members/member[1]/callManager/ports/sipOAuthPort: securedSipPort and sipOAuthPort of call manager "10.10.10.1" (priority 0) are both 5061
	//   fix: give each listener of the node its own port
	// error oauth-port-range /device/devicePool/callManagerGroup/members/member[2]/callManager/ports/sipMRAOAuthPort: sipMRAOAuthPort of call manager "10.10.10.2" (priority 1) is 80, outside 1024-49151
	//   fix: set a port between 1024 and 49151 in System > Cisco Unified CM
	// exit status 1
}
