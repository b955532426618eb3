package cnfxml

import (
	"reflect"
	"testing"
)

func TestTargets(t *testing.T) {
	t.Parallel()
	csf, _ := parseFixture(t, "CSFrado.cnf.xml")
	sep, _ := parseFixture(t, "SEP00562BA1C2D3.cnf.xml")
	legacy, _ := parseFixture(t, "warn-oauth-with-digest.cnf.xml")
	nonSecure, _ := parseFixture(t, "SEP00562BA1C2D3.cnf.xml")
	nonSecure.SecurityMode = NonSecure
	custom, _ := parseFixture(t, "CSFrado.cnf.xml")
	custom.CallManagers[0].Ports.SIPOAuth, custom.CallManagers[1].Ports.SIPMRAOAuth = 5190, 5291

	cases := []struct {
		name string
		cfg  *Config
		d    Deployment
		want []Target
	}{
		{"jabber on premises, as in the source log", csf, OnPremises, []Target{
			{Host: "10.10.10.1", Port: 5090, Transport: TLS, OAuth: true, Priority: 0, ProcessNodeName: "ccm12pub"},
			{Host: "10.10.10.2", Port: 5090, Transport: TLS, OAuth: true, Priority: 1, ProcessNodeName: "ccm12sub"},
		}},
		{"jabber over MRA", csf, MRA, []Target{
			{Host: "10.10.10.1", Port: 5091, Transport: TLS, OAuth: true, Priority: 0, ProcessNodeName: "ccm12pub"},
			{Host: "10.10.10.2", Port: 5091, Transport: TLS, OAuth: true, Priority: 1, ProcessNodeName: "ccm12sub"},
		}},
		{"ports differ per node", custom, OnPremises, []Target{
			{Host: "10.10.10.1", Port: 5190, Transport: TLS, OAuth: true, Priority: 0, ProcessNodeName: "ccm12pub"},
			{Host: "10.10.10.2", Port: 5090, Transport: TLS, OAuth: true, Priority: 1, ProcessNodeName: "ccm12sub"},
		}},
		{"ports differ per node, MRA", custom, MRA, []Target{
			{Host: "10.10.10.1", Port: 5091, Transport: TLS, OAuth: true, Priority: 0, ProcessNodeName: "ccm12pub"},
			{Host: "10.10.10.2", Port: 5291, Transport: TLS, OAuth: true, Priority: 1, ProcessNodeName: "ccm12sub"},
		}},
		{"mode 0, encrypted: securedSipPort", sep, OnPremises, []Target{
			{Host: "cucm-pub.example.com", Port: 5061, Transport: TLS, Priority: 0, ProcessNodeName: "cucm-pub.example.com"},
			{Host: "cucm-sub1.example.com", Port: 5061, Transport: TLS, Priority: 1, ProcessNodeName: "cucm-sub1.example.com"},
			{Host: "10.10.10.3", Port: 5061, Transport: TLS, Priority: 2, ProcessNodeName: "cucm-sub2.example.com"},
		}},
		{"mode 0, non-secure: sipPort", nonSecure, MRA, []Target{
			{Host: "cucm-pub.example.com", Port: 5060, Transport: TCP, Priority: 0, ProcessNodeName: "cucm-pub.example.com"},
			{Host: "cucm-sub1.example.com", Port: 5060, Transport: TCP, Priority: 1, ProcessNodeName: "cucm-sub1.example.com"},
			{Host: "10.10.10.3", Port: 5060, Transport: TCP, Priority: 2, ProcessNodeName: "cucm-sub2.example.com"},
		}},
		{"defaults when absent, legacy name read, three nodes at most", legacy, MRA, []Target{
			{Host: "10.10.10.1", Port: 5091, Transport: TLS, OAuth: true, DefaultPort: true, Priority: 0, ProcessNodeName: "ccm12pub"},
			{Host: "10.10.10.2", Port: 5091, Transport: TLS, OAuth: true, Priority: 1, ProcessNodeName: "ccm12sub"},
			{Host: "10.10.10.3", Port: 5091, Transport: TLS, OAuth: true, Priority: 1, ProcessNodeName: "ccm12sub2"},
		}},
		{"no node", &Config{SIPOAuthMode: 1}, OnPremises, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := Targets(tc.cfg, tc.d); !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("Targets\n got %+v\nwant %+v", got, tc.want)
			}
		})
	}
}

func TestTargetsDefaultsAndNames(t *testing.T) {
	t.Parallel()
	c := &Config{SIPOAuthMode: 1, CallManagers: []CallManager{
		{Priority: 0},                            // no name at all: skipped
		{Priority: 1, ProcessNodeName: "ccmsub"}, // process node name stands in
	}}
	got := Targets(c, OnPremises)
	want := []Target{{Host: "ccmsub", Port: DefaultSIPOAuthPort, Transport: TLS, OAuth: true, DefaultPort: true, Priority: 1, ProcessNodeName: "ccmsub"}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %+v", got)
	}
	c.SIPOAuthMode, c.SecurityMode = 0, Authenticated
	if got := Targets(c, OnPremises); got[0].Port != DefaultSecuredSIPPort || got[0].Transport != TLS || !got[0].DefaultPort {
		t.Fatalf("authenticated: %+v", got)
	}
	c.SecurityMode = 0
	if got := Targets(c, OnPremises); got[0].Port != DefaultSIPPort || got[0].Transport != TCP {
		t.Fatalf("no security mode: %+v", got)
	}
	if OnPremises.String() != "on-premises" || MRA.String() != "mra" {
		t.Fatal("Deployment names")
	}
}
