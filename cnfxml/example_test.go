package cnfxml_test

import (
	"bytes"
	"fmt"
	"log"
	"net/http"

	"github.com/sipoauth/sdk/cnfxml"
)

// Read a Jabber configuration file the way the client does.
func ExampleParseFile() {
	cfg, err := cnfxml.ParseFile("testdata/CSFrado.cnf.xml")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(cfg.DeviceName, "sipOAuthMode", cfg.SIPOAuthMode, "security", cfg.SecurityMode)
	for _, cm := range cfg.CallManagers {
		fmt.Printf("ccm%d=%s sip_oauth_port=%d sip_mra_oauth_port=%d\n", cm.Priority, cm.Name, cm.Ports.SIPOAuth, cm.Ports.SIPMRAOAuth)
	}
	// Output:
	// CSFrado sipOAuthMode 1 security encrypted
	// ccm0=10.10.10.1 sip_oauth_port=5090 sip_mra_oauth_port=5091
	// ccm1=10.10.10.2 sip_oauth_port=5090 sip_mra_oauth_port=5091
}

// Check a file before it reaches the phones.
func ExampleConfig_Validate() {
	cfg, err := cnfxml.ParseFile("testdata/warn-port-conflict.cnf.xml")
	if err != nil {
		log.Fatal(err)
	}
	for _, f := range cfg.Validate() {
		fmt.Println(f.Severity, f.Code, "-", f.Message)
	}
	// Output:
	// error port-conflict - securedSipPort and sipOAuthPort of call manager "10.10.10.1" (priority 0) are both 5061
	// error oauth-port-range - sipMRAOAuthPort of call manager "10.10.10.2" (priority 1) is 80, outside 1024-49151
}

// Where a client registers, on premises and over MRA.
func ExampleTargets() {
	cfg, err := cnfxml.ParseFile("testdata/CSFrado.cnf.xml")
	if err != nil {
		log.Fatal(err)
	}
	for _, d := range []cnfxml.Deployment{cnfxml.OnPremises, cnfxml.MRA} {
		for _, t := range cnfxml.Targets(cfg, d) {
			fmt.Printf("%s: %s %s:%d oauth=%v\n", d, t.Transport, t.Host, t.Port, t.OAuth)
		}
	}
	// Output:
	// on-premises: TLS 10.10.10.1:5090 oauth=true
	// on-premises: TLS 10.10.10.2:5090 oauth=true
	// mra: TLS 10.10.10.1:5091 oauth=true
	// mra: TLS 10.10.10.2:5091 oauth=true
}

// Build a Jabber configuration from scratch.
func ExampleNewCSF() {
	cfg := cnfxml.NewCSF("CSFalice")
	cfg.UserID, cfg.OwnerID = "alice", "alice"
	cfg.CallManagers = []cnfxml.CallManager{{
		Priority: 0, Name: "ucm-pub.example.com", ProcessNodeName: "ucm-pub.example.com",
		Ports: cnfxml.Ports{EthernetPhone: 2000, SIP: 5060, SecuredSIP: 5061, SIPOAuth: 5090, SIPMRAOAuth: 5091},
	}}
	cfg.Lines = []cnfxml.Line{{Button: 1, FeatureID: 9, Name: "2001", DisplayName: "Alice", Proxy: "USECALLMANAGER", Port: 5060}}
	b := cfg.Bytes()
	fmt.Println(cfg.FileName(), len(cfg.Validate()), "findings")
	i := bytes.Index(b, []byte("<ports>"))
	fmt.Println(string(b[i : bytes.Index(b, []byte("</ports>"))+8]))
	// Output:
	// CSFalice.cnf.xml 0 findings
	// <ports>
	// <ethernetPhonePort>2000</ethernetPhonePort>
	// <sipPort>5060</sipPort>
	// <securedSipPort>5061</securedSipPort>
	// <sipOAuthPort>5090</sipOAuthPort>
	// <sipMRAOAuthPort>5091</sipMRAOAuthPort>
	// </ports>
}

// Change one thing and write the file back: everything else stays as it was.
func ExampleConfig_WriteTo() {
	cfg, err := cnfxml.ParseFile("testdata/SEP00562BA1C2D3.cnf.xml")
	if err != nil {
		log.Fatal(err)
	}
	before := cfg.Bytes()
	cfg.SIPOAuthMode = 1
	var after bytes.Buffer
	cfg.WriteTo(&after)
	fmt.Println(len(before), after.Len(), bytes.Equal(bytes.Replace(before, []byte("<sipOAuthMode>0<"), []byte("<sipOAuthMode>1<"), 1), after.Bytes()))
	// Output: 14594 14594 true
}

// Serve configuration files as the TFTP service does on port 6970.
func ExampleNewHandler() {
	h := cnfxml.NewHandler("/var/lib/tftp")
	h.ErrorLog = func(device string, err error) { log.Printf("%s: %v", device, err) }
	http.Handle("/", h)
	// http.ListenAndServe(":6970", nil)
}
