//go:build !js

package certcheck

import (
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/sipoauth/sdk/internal/testca"
)

// FuzzParse: the lite parser never panics, never refuses what x509
// accepts, and when both accept, every field Parse documents is equal.
// CheckCert and Key.String never panic on what it accepts.
func FuzzParse(f *testing.F) {
	for _, s := range corpus(f) {
		f.Add(s.der)
	}
	f.Add([]byte{})
	f.Add([]byte{0x30, 0x80})
	f.Add([]byte{0x30, 0x84, 0xff, 0xff, 0xff, 0xff})
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, der []byte) {
		lite, liteErr := parseLite(der)
		std, stdErr := x509.ParseCertificate(der)
		if liteErr != nil {
			if lite != nil {
				t.Fatalf("certificate with error %v", liteErr)
			}
			if stdErr == nil {
				t.Fatalf("lite parser refuses what x509 accepts: %v", liteErr)
			}
			return
		}
		for _, o := range []Options{
			{Role: RoleNode, Host: "cucm1.example.com", Now: now},
			{Role: RoleEdgeProxy, Host: "192.0.2.1", Now: now, CommonName: CNAlways},
		} {
			for _, f := range CheckCert(lite, o) {
				if f.Code == "" || f.Message == "" || f.Fix == "" || !strings.HasPrefix(f.Path, "certificate/") {
					t.Fatalf("incomplete finding %+v", f)
				}
			}
		}
		_ = lite.Key.String()
		if stdErr != nil {
			return
		}
		if d := diffFields(lite, std); len(d) > 0 {
			t.Fatalf("fields differ:\n%s", strings.Join(d, "\n"))
		}
	})
}

// FuzzCheckPEM: CheckPEM never panics, returns findings or a *PEMError,
// never both, and complete findings; CheckPEMCerts returns the same.
func FuzzCheckPEM(f *testing.F) {
	ca := testca.New(f, "Fuzz Root CA")
	leaf := ca.Server(f, "cucm1.example.com", "192.0.2.10")
	full := leaf.CertPEM()
	f.Add(full)
	f.Add(testca.CertPEM(leaf.Cert, ca.Cert))
	f.Add(full[:len(full)/2])
	f.Add(append(leaf.KeyPEM(), full...))
	f.Add([]byte("-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n"))
	f.Add([]byte("-----BEGIN CERTIFICATE-----\n-----BEGIN CERTIFICATE-----\n"))
	f.Add([]byte{})
	fixtures, _ := filepath.Glob("testdata/*.pem")
	for _, name := range fixtures {
		if data, err := os.ReadFile(name); err == nil {
			f.Add(data)
		}
	}
	pool := ca.Pool()
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, in []byte) {
		for _, o := range []Options{
			{Role: RoleNode, Host: "cucm1.example.com", Now: now},
			{Role: RoleEdgeProxy, Host: "::ffff:192.0.2.10", Roots: pool, CommonName: CNAlways, Now: now},
		} {
			fs, certs, err := CheckPEM(in, o)
			cfs, descs, cerr := CheckPEMCerts(in, o)
			if !reflect.DeepEqual(cfs, fs) || len(descs) != len(certs) || fmt.Sprint(cerr) != fmt.Sprint(err) {
				t.Fatalf("CheckPEMCerts: %v %d %v; CheckPEM: %v %d %v", cfs, len(descs), cerr, fs, len(certs), err)
			}
			if err != nil {
				var pe *PEMError
				if fs != nil || certs != nil || !errors.As(err, &pe) || !strings.HasPrefix(err.Error(), "certcheck: ") {
					t.Fatalf("findings %v, certificates %d, error %#v", fs, len(certs), err)
				}
				continue
			}
			if len(certs) == 0 || len(certs) > MaxPEMCertificates {
				t.Fatalf("%d certificates", len(certs))
			}
			for _, f := range fs {
				if f.Code == "" || f.Message == "" || f.Fix == "" || !strings.HasPrefix(f.Path, "certificate/") {
					t.Fatalf("incomplete finding %+v", f)
				}
			}
		}
		if b, _ := pem.Decode(in); b != nil && b.Type == "CERTIFICATE" {
			// What Parse accepts in a PEM block, the lite parser accepts too.
			if _, err := Parse(b.Bytes); err == nil {
				if _, lerr := parseLite(b.Bytes); lerr != nil {
					t.Fatalf("lite parser refuses a block x509 accepts: %v", lerr)
				}
			}
		}
	})
}

// FuzzParseASN1Time: the time reader agrees with cryptobyte's, which x509
// uses, on every input.
func FuzzParseASN1Time(f *testing.F) {
	for _, s := range []string{"260101120000Z", "2601011200+0530", "491231235959Z", "500101000000Z", "000229000000Z",
		"260101120000-2400", "260101120000+0000", "260101120000.5Z"} {
		f.Add(s, true)
	}
	for _, s := range []string{"20260101120000Z", "99991231235959Z", "00000101000000Z", "19000228235959-0100", "20260101120000.000Z"} {
		f.Add(s, false)
	}
	f.Fuzz(func(t *testing.T, s string, utc bool) {
		got, ok := parseASN1Time([]byte(s), utc)
		ref, refOK := cryptobyteTime(s, utc)
		if ok != refOK || ok && !sameTime(got, ref) {
			t.Fatalf("%q (utc %v): lite %v %v, cryptobyte %v %v", s, utc, got, ok, ref, refOK)
		}
	})
}

// FuzzParseCerts: ParseCerts never panics; on PEM it is ParsePEMCerts,
// on DER it returns certificates or an error that says DER, and the DER of
// what it parses parses again to as many certificates.
func FuzzParseCerts(f *testing.F) {
	ca := testca.New(f, "Fuzz Root CA")
	leaf := ca.Server(f, "cucm1.example.com")
	f.Add(leaf.Cert.Raw)
	f.Add(append(append([]byte{}, leaf.Cert.Raw...), ca.Cert.Raw...))
	f.Add(leaf.Cert.Raw[:len(leaf.Cert.Raw)/2])
	f.Add(leaf.CertPEM())
	f.Add([]byte{0x30, 0x84, 0xff, 0xff, 0xff, 0xff})
	f.Add([]byte{0x30, 0x00, 0x30})
	f.Fuzz(func(t *testing.T, in []byte) {
		certs, err := ParseCerts(in)
		if _, ok := splitDER(in); !ok {
			pcerts, perr := ParsePEMCerts(in)
			if len(pcerts) != len(certs) || fmt.Sprint(perr) != fmt.Sprint(err) {
				t.Fatalf("ParseCerts %d %v, ParsePEMCerts %d %v", len(certs), err, len(pcerts), perr)
			}
			return
		}
		if err != nil {
			if certs != nil || !errors.Is(err, ErrDER) {
				t.Fatalf("certificates %d, error %v", len(certs), err)
			}
			return
		}
		if len(certs) == 0 {
			t.Fatal("no certificate and no error")
		}
	})
}
