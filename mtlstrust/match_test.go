package mtlstrust

import (
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"net"
	"testing"

	"github.com/sipoauth/sdk/certcheck"
)

func cert(cn string, dns []string, ips ...string) *x509.Certificate {
	c := &x509.Certificate{Subject: pkix.Name{CommonName: cn}, DNSNames: dns}
	for _, ip := range ips {
		c.IPAddresses = append(c.IPAddresses, net.ParseIP(ip))
	}
	return c
}

func TestAuthorizers(t *testing.T) {
	t.Parallel()
	expc := cert("", []string{"expc1.example.com"})
	other := cert("", []string{"other.example.com"})
	names := AuthorizeNames([]string{"expc1.example.com", "not a name"})
	cnOnly := cert("expc1.example.com", []string{"x.example.com"})
	wildcard := cert("", []string{"*.example.com"})
	cases := []struct {
		name string
		a    Authorizer
		peer *x509.Certificate
		ok   bool
	}{
		{"any", AuthorizeAny(), other, true},
		{"names", names, expc, true},
		{"names refuses", names, other, false},
		{"names with CN always", AuthorizeNames([]string{"expc1.example.com"}, WithCommonName(certcheck.CNAlways)), cnOnly, true},
		{"names with CN when no SAN", AuthorizeNames([]string{"expc1.example.com"}), cnOnly, false},
		{"names refuse a wildcard certificate", names, wildcard, false},
		{"names refuse the same wildcard", AuthorizeNames([]string{"*.example.com"}), wildcard, false},
		{"names allow a wildcard certificate", AuthorizeNames([]string{"expc1.example.com"}, WithWildcardCertificates()), wildcard, true},
		{"names allow the same wildcard", AuthorizeNames([]string{"*.example.com"}, WithWildcardCertificates()), wildcard, true},
		{"names allow wildcards, not two labels away", AuthorizeNames([]string{"a.expc1.example.com"}, WithWildcardCertificates()), wildcard, false},
		{"names: table wildcard over a plain name", AuthorizeNames([]string{"*.example.com"}), expc, true},
		{"all of: both", AuthorizeAllOf(AuthorizeAny(), names), expc, true},
		{"all of: one refuses", AuthorizeAllOf(AuthorizeAny(), names), other, false},
		{"one of: one allows", AuthorizeOneOf(names, AuthorizeNames([]string{"other.example.com"})), other, true},
		{"one of: none", AuthorizeOneOf(names, AuthorizeNames([]string{"z.example.com"})), other, false},
		{"one of: empty", AuthorizeOneOf(), other, false},
		{"nil peer", names, nil, false},
	}
	for _, tc := range cases {
		err := tc.a(tc.peer, nil)
		if (err == nil) != tc.ok {
			t.Errorf("%s: %v", tc.name, err)
		}
		if err != nil && !errors.Is(err, ErrNotAuthorized) {
			t.Errorf("%s: %v is not ErrNotAuthorized", tc.name, err)
		}
	}
	err := names(other, nil)
	var nit *NotInTableError
	if !errors.As(err, &nit) || err.Error() != "mtlstrust: no name of the peer certificate (other.example.com) is in the edge-proxy table" {
		t.Fatalf("%v", err)
	}
}
