//go:build !js

package certcheck

import (
	"crypto/x509"
	"crypto/x509/pkix"
	"net"
	"reflect"
	"testing"
)

func nameCert(cn string, dns []string, ips ...string) *x509.Certificate {
	c := &x509.Certificate{Subject: pkix.Name{CommonName: cn}, DNSNames: dns}
	for _, ip := range ips {
		c.IPAddresses = append(c.IPAddresses, net.ParseIP(ip))
	}
	return c
}

func TestPeerNames(t *testing.T) {
	t.Parallel()
	cases := []struct {
		cert   *x509.Certificate
		policy CommonNamePolicy
		want   string // Names.String
	}{
		{nameCert("expc1.example.com", []string{"ExpC1.Example.COM."}), CNWhenNoDNSSAN, "expc1.example.com"},
		{nameCert("expc1.example.com", nil), CNWhenNoDNSSAN, "expc1.example.com"},
		{nameCert("expc1.example.com", nil), CNNever, ""},
		{nameCert("cluster.example.com", []string{"expc1.example.com"}), CNAlways, "expc1.example.com, cluster.example.com"},
		{nameCert("10.0.0.9", nil), CNWhenNoDNSSAN, "10.0.0.9"},
		{nameCert("", []string{"*.example.com", "f*.example.com", "*.*.example.com", "a.*.example.com", "*.com", "bad_label-.example.com", "ok_label.example.com"}),
			CNWhenNoDNSSAN, "*.example.com, ok_label.example.com"},
		{nameCert("", nil, "192.0.2.7", "::ffff:192.0.2.8", "2001:db8::1"), CNWhenNoDNSSAN, "192.0.2.7, 192.0.2.8, 2001:db8::1"},
	}
	for i, tc := range cases {
		if got := PeerNames(tc.cert, tc.policy).String(); got != tc.want {
			t.Errorf("%d: %q, want %q", i, got, tc.want)
		}
		if got := NewCert(tc.cert).PeerNames(tc.policy); !reflect.DeepEqual(got, PeerNames(tc.cert, tc.policy)) {
			t.Errorf("%d: Cert.PeerNames %#v, PeerNames %#v", i, got, PeerNames(tc.cert, tc.policy))
		}
	}
	n := PeerNames(nameCert("", []string{"A.example.com"}, "192.0.2.7"), CNNever)
	if !reflect.DeepEqual(n.DNS, []string{"a.example.com"}) || len(n.IPs) != 1 || !n.IPs[0].Is4() {
		t.Errorf("names %#v", n)
	}
}

func TestMatchesHost(t *testing.T) {
	t.Parallel()
	n := Names{DNS: []string{"cucm1.example.com", "*.mra.example.com"}}
	ips := PeerNames(nameCert("", nil, "192.0.2.10", "2001:db8::10"), CNNever)
	cases := []struct {
		names Names
		host  string
		want  bool
	}{
		{n, "cucm1.example.com", true},
		{n, "CUCM1.Example.COM.", true},
		{n, "a.mra.example.com", true},
		{n, "a.b.mra.example.com", false},
		{n, "mra.example.com", false},
		{n, "*.mra.example.com", false},
		{n, "cucm2.example.com", false},
		{n, "", false},
		{n, "bad host", false},
		{ips, "192.0.2.10", true},
		{ips, "::ffff:192.0.2.10", true},
		{ips, "[2001:db8:0::10]", true},
		{ips, "fe80::1%eth0", false},
		{ips, "192.0.2.11", false},
		{ips, "cucm1.example.com", false},
		{Names{}, "cucm1.example.com", false},
	}
	for _, tc := range cases {
		if got := tc.names.MatchesHost(tc.host); got != tc.want {
			t.Errorf("%v.MatchesHost(%q) = %v, want %v", tc.names, tc.host, got, tc.want)
		}
	}
}

func TestPublicKeyInfo(t *testing.T) {
	t.Parallel()
	for file, want := range map[string]string{
		"root-ca-rsa2048.pem":     "RSA 2048",
		"sha1-rsa1024.pem":        "RSA 1024",
		"edge-ecdsa-p384.pem":     "ECDSA P-384",
		"self-signed-p521.pem":    "ECDSA P-521",
		"self-signed-ed25519.pem": "Ed25519",
		"dsa-key-unknown-eku.pem": "DSA 2048",
	} {
		data := readFixture(t, file)
		certs, err := ParsePEM(data)
		if err != nil {
			t.Fatal(err)
		}
		if got := PublicKeyInfo(certs[0]).String(); got != want {
			t.Errorf("%s: %q, want %q", file, got, want)
		}
	}
	if got := PublicKeyInfo(&x509.Certificate{PublicKeyAlgorithm: x509.ECDSA}); got != (KeyInfo{Algorithm: "ECDSA"}) {
		t.Errorf("without RawSubjectPublicKeyInfo: %+v", got)
	}
	for _, s := range corpus(t) {
		if s.name == "synthetic x25519 key" {
			c, err := parseLite(s.der)
			if err != nil {
				t.Fatal(err)
			}
			if got := c.Key; got != (KeyInfo{Algorithm: "1.3.101.110"}) {
				t.Errorf("x25519: %+v", got)
			}
		}
	}
}
