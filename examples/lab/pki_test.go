package main

import (
	"testing"
	"time"

	"github.com/sipoauth/sdk/certcheck"
)

// TestLabCertificatesNotExpiring: the lab's certificates outlive the
// expiry warning, so that checking them reports no cert-expiring.
func TestLabCertificatesNotExpiring(t *testing.T) {
	ca, err := newAuthority("Lab CA")
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := ca.issue("ucm-pub.example.com", "127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	for _, o := range []certcheck.Options{
		{Role: certcheck.RoleNode, Host: "ucm-pub.example.com", Now: now},
		{Role: certcheck.RoleNode, Host: "127.0.0.1", Now: now.Add(24 * time.Hour)},
	} {
		for _, f := range certcheck.Check(leaf.Leaf, o) {
			t.Errorf("%v", f)
		}
	}
	if ca.cert.NotAfter.Sub(now) <= certcheck.DefaultExpiryWarning {
		t.Errorf("the CA expires at %v", ca.cert.NotAfter)
	}
}
