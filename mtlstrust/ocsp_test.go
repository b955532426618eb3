package mtlstrust

import (
	"context"
	"crypto"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/crypto/ocsp"

	"github.com/sipoauth/sdk/internal/testca"
)

// ocspClock is a settable time source shared by a checker and a responder.
type ocspClock struct {
	mu     sync.Mutex
	offset time.Duration
}

func (c *ocspClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.offset)
}

func (c *ocspClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.offset += d
}

// ocspResponder is an OCSP responder on 127.0.0.1 answering for ca, with a
// status per serial set by the test.
type ocspResponder struct {
	srv  *httptest.Server
	ca   *testca.CA
	hits atomic.Int64

	mu       sync.Mutex
	statuses map[string]int
	// signer signs the responses; nil means the CA itself.
	signerCert *x509.Certificate
	signerKey  crypto.Signer
	// embed puts signerCert in the response, as a delegated responder does.
	embed bool
	// edit adjusts the response before it is signed.
	edit func(*ocsp.Response)
	// fault, when set, answers instead of the responder.
	fault func(http.ResponseWriter, *http.Request)
	now   func() time.Time
}

func newOCSPResponder(t *testing.T, ca *testca.CA) *ocspResponder {
	t.Helper()
	r := &ocspResponder{ca: ca, statuses: map[string]int{}, now: time.Now}
	r.srv = httptest.NewServer(http.HandlerFunc(r.serve))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *ocspResponder) URL() string { return r.srv.URL + "/ocsp" }

func (r *ocspResponder) set(cert *x509.Certificate, status int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.statuses[cert.SerialNumber.String()] = status
}

func (r *ocspResponder) configure(f func(*ocspResponder)) {
	r.mu.Lock()
	defer r.mu.Unlock()
	f(r)
}

func (r *ocspResponder) serve(w http.ResponseWriter, req *http.Request) {
	r.hits.Add(1)
	r.mu.Lock()
	fault := r.fault
	r.mu.Unlock()
	if fault != nil {
		fault(w, req)
		return
	}
	body, err := io.ReadAll(io.LimitReader(req.Body, 1<<16))
	if err != nil || req.Method != http.MethodPost {
		http.Error(w, "bad request", http.StatusBadRequest)
		return
	}
	ocspReq, err := ocsp.ParseRequest(body)
	if err != nil {
		w.Write(ocsp.MalformedRequestErrorResponse)
		return
	}
	der, err := r.response(ocspReq.SerialNumber)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/ocsp-response")
	w.Write(der)
}

// response signs a response for serial as the responder is configured.
func (r *ocspResponder) response(serial *big.Int) ([]byte, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	status, ok := r.statuses[serial.String()]
	if !ok {
		status = ocsp.Unknown
	}
	now := r.now()
	tmpl := ocsp.Response{
		Status:       status,
		SerialNumber: serial,
		ThisUpdate:   now.Add(-time.Minute),
		NextUpdate:   now.Add(time.Hour),
	}
	if status == ocsp.Revoked {
		tmpl.RevokedAt = now.Add(-time.Hour).Truncate(time.Second)
		tmpl.RevocationReason = ocsp.KeyCompromise
	}
	cert, key := r.ca.Cert, r.ca.Key
	if r.signerCert != nil {
		cert, key = r.signerCert, r.signerKey
	}
	if r.embed {
		tmpl.Certificate = cert
	}
	if r.edit != nil {
		r.edit(&tmpl)
	}
	return ocsp.CreateResponse(r.ca.Cert, cert, tmpl, key)
}

// ocspEdge issues an edge-proxy certificate whose responder is urls.
func ocspEdge(t *testing.T, ca *testca.CA, urls ...string) *x509.Certificate {
	t.Helper()
	return ca.Issue(t, testca.Options{
		CommonName:  "expc.example.com",
		DNSNames:    []string{"expc.example.com"},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth, x509.ExtKeyUsageServerAuth},
		OCSPServer:  urls,
	}).Cert
}

func ocspCtx(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// ocspExpect runs Check under both policies: soft must give softWant, hard
// hardWant (nil meaning no error).
func ocspExpect(t *testing.T, leaf, issuer *x509.Certificate, stapled []byte, softWant, hardWant error) {
	t.Helper()
	for _, p := range []struct {
		name   string
		policy OCSPPolicy
		want   error
	}{{"soft", OCSPSoftFail, softWant}, {"hard", OCSPHardFail, hardWant}} {
		c := &OCSPChecker{Policy: p.policy, Timeout: 2 * time.Second}
		err := c.Check(ocspCtx(t), leaf, issuer, stapled)
		switch {
		case p.want == nil && err != nil:
			t.Errorf("%s: Check = %v, want nil", p.name, err)
		case p.want != nil && !errors.Is(err, p.want):
			t.Errorf("%s: Check = %v, want %v", p.name, err, p.want)
		}
	}
}

func TestOCSPGood(t *testing.T) {
	t.Parallel()
	ca := testca.New(t, "ca")
	r := newOCSPResponder(t, ca)
	leaf := ocspEdge(t, ca, r.URL())
	r.set(leaf, ocsp.Good)
	ocspExpect(t, leaf, ca.Cert, nil, nil, nil)
	if n := r.hits.Load(); n != 2 {
		t.Errorf("responder hit %d times, want 2 (one per checker)", n)
	}
}

func TestOCSPRevoked(t *testing.T) {
	t.Parallel()
	ca := testca.New(t, "ca")
	r := newOCSPResponder(t, ca)
	leaf := ocspEdge(t, ca, r.URL())
	r.set(leaf, ocsp.Revoked)
	ocspExpect(t, leaf, ca.Cert, nil, ErrCertificateRevoked, ErrCertificateRevoked)

	err := (&OCSPChecker{}).Check(ocspCtx(t), leaf, ca.Cert, nil)
	if errors.Is(err, ErrOCSPUnavailable) {
		t.Errorf("revoked error also wraps ErrOCSPUnavailable: %v", err)
	}
	serial := fmt.Sprintf("%x", leaf.SerialNumber)
	if msg := err.Error(); !strings.Contains(msg, "serial "+serial) || !strings.Contains(msg, "revoked at ") || !strings.Contains(msg, "keyCompromise") {
		t.Errorf("error %q lacks the serial, time or reason", msg)
	}
}

func TestOCSPUnknown(t *testing.T) {
	t.Parallel()
	ca := testca.New(t, "ca")
	r := newOCSPResponder(t, ca)
	leaf := ocspEdge(t, ca, r.URL())
	r.set(leaf, ocsp.Unknown)
	ocspExpect(t, leaf, ca.Cert, nil, nil, ErrOCSPUnavailable)
}

func TestOCSPResponderDown(t *testing.T) {
	t.Parallel()
	ca := testca.New(t, "ca")
	r := newOCSPResponder(t, ca)
	leaf := ocspEdge(t, ca, r.URL())
	r.set(leaf, ocsp.Revoked)
	r.srv.Close()
	ocspExpect(t, leaf, ca.Cert, nil, nil, ErrOCSPUnavailable)
}

func TestOCSPBadAnswers(t *testing.T) {
	t.Parallel()
	other := testca.New(t, "unrelated")
	cases := []struct {
		name  string
		setup func(t *testing.T, r *ocspResponder, ca *testca.CA)
	}{
		{"HTTP 500", func(_ *testing.T, r *ocspResponder, _ *testca.CA) {
			r.fault = func(w http.ResponseWriter, _ *http.Request) {
				http.Error(w, "boom", http.StatusInternalServerError)
			}
		}},
		{"garbage", func(_ *testing.T, r *ocspResponder, _ *testca.CA) {
			r.fault = func(w http.ResponseWriter, _ *http.Request) {
				w.Write([]byte("\x30\x82\xff\xffnot an OCSP response"))
			}
		}},
		{"empty body", func(_ *testing.T, r *ocspResponder, _ *testca.CA) {
			r.fault = func(http.ResponseWriter, *http.Request) {}
		}},
		{"oversized", func(_ *testing.T, r *ocspResponder, _ *testca.CA) {
			r.fault = func(w http.ResponseWriter, _ *http.Request) {
				w.Write(make([]byte, 1<<20))
			}
		}},
		{"tryLater", func(_ *testing.T, r *ocspResponder, _ *testca.CA) {
			r.fault = func(w http.ResponseWriter, _ *http.Request) {
				w.Write(ocsp.TryLaterErrorResponse)
			}
		}},
		{"another serial", func(_ *testing.T, r *ocspResponder, _ *testca.CA) {
			r.edit = func(resp *ocsp.Response) {
				resp.SerialNumber = new(big.Int).Add(resp.SerialNumber, big.NewInt(1000))
			}
		}},
		{"unrelated key", func(_ *testing.T, r *ocspResponder, _ *testca.CA) {
			r.signerCert, r.signerKey = other.Cert, other.Key
		}},
		{"unrelated key, embedded", func(_ *testing.T, r *ocspResponder, _ *testca.CA) {
			r.signerCert, r.signerKey, r.embed = other.Cert, other.Key, true
		}},
		{"expired", func(_ *testing.T, r *ocspResponder, _ *testca.CA) {
			r.edit = func(resp *ocsp.Response) {
				resp.ThisUpdate = time.Now().Add(-2 * time.Hour)
				resp.NextUpdate = time.Now().Add(-time.Hour)
			}
		}},
		{"no nextUpdate, stale", func(_ *testing.T, r *ocspResponder, _ *testca.CA) {
			r.edit = func(resp *ocsp.Response) {
				resp.ThisUpdate = time.Now().Add(-2 * time.Hour)
				resp.NextUpdate = time.Time{}
			}
		}},
		{"not yet valid", func(_ *testing.T, r *ocspResponder, _ *testca.CA) {
			r.edit = func(resp *ocsp.Response) {
				resp.ThisUpdate = time.Now().Add(10 * time.Minute)
				resp.NextUpdate = time.Now().Add(time.Hour)
			}
		}},
		{"delegated without OCSPSigning", func(t *testing.T, r *ocspResponder, ca *testca.CA) {
			d := ca.Issue(t, testca.Options{CommonName: "not a responder", ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}})
			r.signerCert, r.signerKey, r.embed = d.Cert, d.Key, true
		}},
		{"delegated by another CA", func(t *testing.T, r *ocspResponder, _ *testca.CA) {
			d := other.Issue(t, testca.Options{CommonName: "ocsp", ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageOCSPSigning}})
			r.signerCert, r.signerKey, r.embed = d.Cert, d.Key, true
		}},
		{"delegated responder expired", func(t *testing.T, r *ocspResponder, ca *testca.CA) {
			d := ca.Issue(t, testca.Options{
				CommonName:  "ocsp",
				ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageOCSPSigning},
				NotBefore:   time.Now().Add(-3 * time.Hour),
				NotAfter:    time.Now().Add(-2 * time.Hour),
			})
			r.signerCert, r.signerKey, r.embed = d.Cert, d.Key, true
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ca := testca.New(t, "ca")
			r := newOCSPResponder(t, ca)
			leaf := ocspEdge(t, ca, r.URL())
			// Revoked would show through if a bad answer were believed.
			r.set(leaf, ocsp.Revoked)
			r.configure(func(r *ocspResponder) { tc.setup(t, r, ca) })
			ocspExpect(t, leaf, ca.Cert, nil, nil, ErrOCSPUnavailable)
			if r.hits.Load() == 0 {
				t.Error("responder never asked")
			}
		})
	}
}

func TestOCSPNoUsableResponder(t *testing.T) {
	t.Parallel()
	ca := testca.New(t, "ca")
	for name, urls := range map[string][]string{
		"none":     nil,
		"ldap":     {"ldap://127.0.0.1/ocsp"},
		"file":     {"file:///etc/passwd"},
		"no host":  {"http:///ocsp"},
		"unparsed": {"http://[::1"},
	} {
		t.Run(name, func(t *testing.T) {
			ocspExpect(t, ocspEdge(t, ca, urls...), ca.Cert, nil, nil, ErrOCSPUnavailable)
		})
	}
}

func TestOCSPTriesURLsInOrder(t *testing.T) {
	t.Parallel()
	ca := testca.New(t, "ca")
	dead := newOCSPResponder(t, ca)
	dead.srv.Close()
	failing := newOCSPResponder(t, ca)
	failing.fault = func(w http.ResponseWriter, _ *http.Request) { http.Error(w, "down", http.StatusServiceUnavailable) }
	r := newOCSPResponder(t, ca)
	never := newOCSPResponder(t, ca)
	leaf := ocspEdge(t, ca, "ldap://127.0.0.1/", dead.URL(), failing.URL(), r.URL(), never.URL())
	r.set(leaf, ocsp.Revoked)
	never.set(leaf, ocsp.Good)
	ocspExpect(t, leaf, ca.Cert, nil, ErrCertificateRevoked, ErrCertificateRevoked)
	if failing.hits.Load() != 2 || never.hits.Load() != 0 {
		t.Errorf("hits: failing %d (want 2), after the answer %d (want 0)", failing.hits.Load(), never.hits.Load())
	}
}

func TestOCSPUnavailableReasons(t *testing.T) {
	t.Parallel()
	ca := testca.New(t, "ca")
	dead := newOCSPResponder(t, ca)
	dead.srv.Close()
	failing := newOCSPResponder(t, ca)
	failing.fault = func(w http.ResponseWriter, _ *http.Request) { http.Error(w, "down", http.StatusServiceUnavailable) }
	leaf := ocspEdge(t, ca, "ldap://127.0.0.1/", dead.URL(), failing.URL())
	err := (&OCSPChecker{Policy: OCSPHardFail}).Check(ocspCtx(t), leaf, ca.Cert, []byte("junk"))
	if !errors.Is(err, ErrOCSPUnavailable) {
		t.Fatalf("Check = %v, want ErrOCSPUnavailable", err)
	}
	msg := err.Error()
	for _, want := range []string{"stapled response", "ldap://", dead.srv.URL, failing.srv.URL, "503"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error %q lacks %q", msg, want)
		}
	}
	if strings.Contains(msg, "\n") {
		t.Errorf("error spans lines: %q", msg)
	}
}

// TestOCSPTimeout: a responder that never answers costs a check its
// Timeout. A real responder and the default client, not a synctest
// bubble: the wait is for a real connection held open.
func TestOCSPTimeout(t *testing.T) {
	t.Parallel()
	ca := testca.New(t, "ca")
	r := newOCSPResponder(t, ca)
	release := make(chan struct{})
	t.Cleanup(func() { close(release) }) // before the server closes
	r.fault = func(_ http.ResponseWriter, req *http.Request) {
		// Reading the body lets the server notice the client leaving.
		io.Copy(io.Discard, req.Body)
		select {
		case <-req.Context().Done():
		case <-release:
		}
	}
	leaf := ocspEdge(t, ca, r.URL())
	c := &OCSPChecker{Policy: OCSPHardFail, Timeout: 200 * time.Millisecond}
	start := time.Now()
	err := c.Check(ocspCtx(t), leaf, ca.Cert, nil)
	if !errors.Is(err, ErrOCSPUnavailable) {
		t.Errorf("Check = %v, want ErrOCSPUnavailable", err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("Check took %v despite a 200ms timeout", d)
	}
}

func TestOCSPCache(t *testing.T) {
	t.Parallel()
	ca := testca.New(t, "ca")
	clk := &ocspClock{}
	r := newOCSPResponder(t, ca)
	r.now = clk.Now
	r.edit = func(resp *ocsp.Response) { resp.NextUpdate = resp.ThisUpdate.Add(11 * time.Minute) }
	leaf := ocspEdge(t, ca, r.URL())
	r.set(leaf, ocsp.Good)
	c := &OCSPChecker{Policy: OCSPHardFail, Now: clk.Now}

	for i := range 3 {
		if err := c.Check(ocspCtx(t), leaf, ca.Cert, nil); err != nil {
			t.Fatalf("Check %d = %v", i, err)
		}
	}
	if n := r.hits.Load(); n != 1 {
		t.Fatalf("responder hit %d times for three checks, want 1", n)
	}

	// The status changes at the responder, but the cached answer holds
	// until its NextUpdate.
	r.set(leaf, ocsp.Revoked)
	clk.Advance(5 * time.Minute)
	if err := c.Check(ocspCtx(t), leaf, ca.Cert, nil); err != nil || r.hits.Load() != 1 {
		t.Fatalf("before NextUpdate: Check = %v, hits %d, want nil from the cache", err, r.hits.Load())
	}
	clk.Advance(10 * time.Minute)
	if err := c.Check(ocspCtx(t), leaf, ca.Cert, nil); !errors.Is(err, ErrCertificateRevoked) {
		t.Fatalf("after NextUpdate: Check = %v, want ErrCertificateRevoked", err)
	}
	if n := r.hits.Load(); n != 2 {
		t.Errorf("responder hit %d times, want 2", n)
	}
	// A revoked answer is cached too.
	if err := c.Check(ocspCtx(t), leaf, ca.Cert, nil); !errors.Is(err, ErrCertificateRevoked) || r.hits.Load() != 2 {
		t.Errorf("cached revoked: Check = %v, hits %d", err, r.hits.Load())
	}
}

func TestOCSPCacheWithoutNextUpdate(t *testing.T) {
	t.Parallel()
	ca := testca.New(t, "ca")
	clk := &ocspClock{}
	r := newOCSPResponder(t, ca)
	r.now = clk.Now
	r.edit = func(resp *ocsp.Response) { resp.NextUpdate = time.Time{} }
	leaf := ocspEdge(t, ca, r.URL())
	r.set(leaf, ocsp.Good)
	c := &OCSPChecker{Policy: OCSPHardFail, Now: clk.Now}
	for range 2 {
		if err := c.Check(ocspCtx(t), leaf, ca.Cert, nil); err != nil {
			t.Fatal(err)
		}
	}
	clk.Advance(30 * time.Minute)
	if err := c.Check(ocspCtx(t), leaf, ca.Cert, nil); err != nil || r.hits.Load() != 1 {
		t.Fatalf("within the hour: Check = %v, hits %d, want 1", err, r.hits.Load())
	}
	clk.Advance(31 * time.Minute)
	if err := c.Check(ocspCtx(t), leaf, ca.Cert, nil); err != nil || r.hits.Load() != 2 {
		t.Fatalf("after the hour: Check = %v, hits %d, want 2", err, r.hits.Load())
	}
}

func TestOCSPCacheFailuresNotCached(t *testing.T) {
	t.Parallel()
	ca := testca.New(t, "ca")
	r := newOCSPResponder(t, ca)
	leaf := ocspEdge(t, ca, r.URL())
	r.set(leaf, ocsp.Good)
	r.fault = func(w http.ResponseWriter, _ *http.Request) { http.Error(w, "down", http.StatusInternalServerError) }
	c := &OCSPChecker{Policy: OCSPHardFail}
	if err := c.Check(ocspCtx(t), leaf, ca.Cert, nil); !errors.Is(err, ErrOCSPUnavailable) {
		t.Fatalf("Check = %v, want ErrOCSPUnavailable", err)
	}
	r.configure(func(r *ocspResponder) { r.fault = nil })
	if err := c.Check(ocspCtx(t), leaf, ca.Cert, nil); err != nil {
		t.Fatalf("after recovery: Check = %v", err)
	}
}

func TestOCSPCacheBounded(t *testing.T) {
	t.Parallel()
	ca := testca.New(t, "ca")
	r := newOCSPResponder(t, ca)
	c := &OCSPChecker{CacheSize: 2}
	var leaves []*x509.Certificate
	for range 5 {
		leaf := ocspEdge(t, ca, r.URL())
		r.set(leaf, ocsp.Good)
		leaves = append(leaves, leaf)
		if err := c.Check(ocspCtx(t), leaf, ca.Cert, nil); err != nil {
			t.Fatal(err)
		}
	}
	c.mu.Lock()
	n := len(c.cache)
	c.mu.Unlock()
	if n != 2 {
		t.Errorf("cache holds %d entries, want 2", n)
	}
	hits := r.hits.Load()
	if err := c.Check(ocspCtx(t), leaves[4], ca.Cert, nil); err != nil || r.hits.Load() != hits {
		t.Errorf("latest entry: Check = %v, responder asked again: %v", err, r.hits.Load() != hits)
	}

	off := &OCSPChecker{CacheSize: -1}
	for range 2 {
		if err := off.Check(ocspCtx(t), leaves[0], ca.Cert, nil); err != nil {
			t.Fatal(err)
		}
	}
	if r.hits.Load() != hits+2 || len(off.cache) != 0 {
		t.Errorf("disabled cache: hits %d, want %d; %d entries", r.hits.Load(), hits+2, len(off.cache))
	}
}

func TestOCSPConcurrent(t *testing.T) {
	t.Parallel()
	ca := testca.New(t, "ca")
	r := newOCSPResponder(t, ca)
	c := &OCSPChecker{Policy: OCSPHardFail, CacheSize: 3}
	var leaves []*x509.Certificate
	for i := range 6 {
		leaf := ocspEdge(t, ca, r.URL())
		if i%2 == 0 {
			r.set(leaf, ocsp.Good)
		} else {
			r.set(leaf, ocsp.Revoked)
		}
		leaves = append(leaves, leaf)
	}
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 20 {
				n := (g + i) % len(leaves)
				err := c.Check(ocspCtx(t), leaves[n], ca.Cert, nil)
				if n%2 == 0 && err != nil || n%2 == 1 && !errors.Is(err, ErrCertificateRevoked) {
					t.Errorf("leaf %d: Check = %v", n, err)
				}
			}
		})
	}
	wg.Wait()
}

func TestOCSPStapled(t *testing.T) {
	t.Parallel()
	ca := testca.New(t, "ca")
	r := newOCSPResponder(t, ca)
	leaf := ocspEdge(t, ca, r.URL())

	staple := func(status int, edit func(*ocsp.Response)) []byte {
		t.Helper()
		r.set(leaf, status)
		r.configure(func(r *ocspResponder) { r.edit = edit })
		der, err := r.response(leaf.SerialNumber)
		if err != nil {
			t.Fatal(err)
		}
		r.configure(func(r *ocspResponder) { r.edit = nil })
		return der
	}
	good := staple(ocsp.Good, nil)
	revoked := staple(ocsp.Revoked, nil)
	expired := staple(ocsp.Good, func(resp *ocsp.Response) {
		resp.ThisUpdate, resp.NextUpdate = time.Now().Add(-2*time.Hour), time.Now().Add(-time.Hour)
	})

	t.Run("good, responder not asked", func(t *testing.T) {
		r.set(leaf, ocsp.Revoked)
		before := r.hits.Load()
		ocspExpect(t, leaf, ca.Cert, good, nil, nil)
		if r.hits.Load() != before {
			t.Error("responder asked despite a valid stapled response")
		}
	})
	t.Run("revoked", func(t *testing.T) {
		r.set(leaf, ocsp.Good)
		before := r.hits.Load()
		ocspExpect(t, leaf, ca.Cert, revoked, ErrCertificateRevoked, ErrCertificateRevoked)
		if r.hits.Load() != before {
			t.Error("responder asked despite a valid stapled response")
		}
	})
	t.Run("invalid staple falls back to the responder", func(t *testing.T) {
		for name, bad := range map[string][]byte{"expired": expired, "garbage": []byte("junk")} {
			r.set(leaf, ocsp.Revoked)
			before := r.hits.Load()
			ocspExpect(t, leaf, ca.Cert, bad, ErrCertificateRevoked, ErrCertificateRevoked)
			if r.hits.Load() != before+2 {
				t.Errorf("%s: responder not asked", name)
			}
		}
	})
	t.Run("staple for another certificate", func(t *testing.T) {
		other := ocspEdge(t, ca)
		ocspExpect(t, other, ca.Cert, good, nil, ErrOCSPUnavailable)
	})
	t.Run("staple fills the cache", func(t *testing.T) {
		r.set(leaf, ocsp.Revoked)
		c := &OCSPChecker{Policy: OCSPHardFail}
		before := r.hits.Load()
		for _, s := range [][]byte{good, nil} {
			if err := c.Check(ocspCtx(t), leaf, ca.Cert, s); err != nil {
				t.Fatal(err)
			}
		}
		if r.hits.Load() != before {
			t.Error("responder asked although the stapled answer was cached")
		}
	})
}

func TestOCSPDelegatedResponder(t *testing.T) {
	t.Parallel()
	ca := testca.New(t, "root").Intermediate(t, "issuing")
	d := ca.Issue(t, testca.Options{CommonName: "ocsp.example.com", ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageOCSPSigning}})
	r := newOCSPResponder(t, ca)
	r.signerCert, r.signerKey, r.embed = d.Cert, d.Key, true
	leaf := ocspEdge(t, ca, r.URL())

	r.set(leaf, ocsp.Good)
	ocspExpect(t, leaf, ca.Cert, nil, nil, nil)
	r.set(leaf, ocsp.Revoked)
	ocspExpect(t, leaf, ca.Cert, nil, ErrCertificateRevoked, ErrCertificateRevoked)

	// An issuer that embeds its own certificate signs for itself.
	r.configure(func(r *ocspResponder) { r.signerCert, r.signerKey = ca.Cert, ca.Key })
	ocspExpect(t, leaf, ca.Cert, nil, ErrCertificateRevoked, ErrCertificateRevoked)
}

func TestOCSPCheckNilArguments(t *testing.T) {
	t.Parallel()
	ca := testca.New(t, "ca")
	leaf := ocspEdge(t, ca)
	for _, args := range [][2]*x509.Certificate{{nil, ca.Cert}, {leaf, nil}, {nil, nil}} {
		ocspExpect(t, args[0], args[1], nil, nil, ErrOCSPUnavailable)
	}
	var noCtx context.Context
	if err := (&OCSPChecker{Policy: OCSPHardFail}).Check(noCtx, leaf, ca.Cert, nil); !errors.Is(err, ErrOCSPUnavailable) {
		t.Errorf("nil context: Check = %v, want ErrOCSPUnavailable", err)
	}
}

// TestOCSPMangledResponses feeds truncated and bit-flipped responses to
// the parser: each must be refused without a panic.
func TestOCSPMangledResponses(t *testing.T) {
	t.Parallel()
	ca := testca.New(t, "ca")
	d := ca.Issue(t, testca.Options{CommonName: "ocsp", ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageOCSPSigning}})
	r := newOCSPResponder(t, ca)
	r.signerCert, r.signerKey, r.embed = d.Cert, d.Key, true
	leaf := ocspEdge(t, ca)
	r.set(leaf, ocsp.Revoked)
	der, err := r.response(leaf.SerialNumber)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	if st, err := validOCSPResponse(der, leaf, ca.Cert, now); err != nil || st.status != ocsp.Revoked {
		t.Fatalf("intact response: %+v, %v", st, err)
	}
	for n := range len(der) {
		if _, err := validOCSPResponse(der[:n], leaf, ca.Cert, now); err == nil {
			t.Fatalf("truncated to %d bytes: accepted", n)
		}
	}
	for i := range der {
		for _, bit := range []byte{0x01, 0x80} {
			m := append([]byte(nil), der...)
			m[i] ^= bit
			// A flip may land in unsigned bytes and leave a valid
			// response; what matters is that none panics and that
			// whatever is accepted still says revoked.
			if st, err := validOCSPResponse(m, leaf, ca.Cert, now); err == nil && st.status != ocsp.Revoked {
				t.Fatalf("flip at %d: accepted with status %d", i, st.status)
			}
		}
	}
}

func TestOCSPVerifyConnectionNothingToCheck(t *testing.T) {
	t.Parallel()
	ca := testca.New(t, "ca")
	leaf := ocspEdge(t, ca, "http://127.0.0.1:1/")
	c := &OCSPChecker{Policy: OCSPHardFail}
	for name, cs := range map[string]tls.ConnectionState{
		"no peer":          {},
		"no chain":         {PeerCertificates: []*x509.Certificate{leaf}},
		"leaf is a root":   {PeerCertificates: []*x509.Certificate{ca.Cert}, VerifiedChains: [][]*x509.Certificate{{ca.Cert}}},
		"empty chain list": {PeerCertificates: []*x509.Certificate{leaf}, VerifiedChains: [][]*x509.Certificate{{}}},
	} {
		if err := c.VerifyConnection(cs); err != nil {
			t.Errorf("%s: VerifyConnection = %v, want nil", name, err)
		}
	}
	cs := tls.ConnectionState{PeerCertificates: []*x509.Certificate{leaf}, VerifiedChains: [][]*x509.Certificate{{leaf, ca.Cert}}}
	if err := c.VerifyConnection(cs); !errors.Is(err, ErrOCSPUnavailable) {
		t.Errorf("verified chain, dead responder: VerifyConnection = %v, want ErrOCSPUnavailable", err)
	}
}

// TestOCSPVerifyConnectionHandshake runs mutual-TLS handshakes on
// 127.0.0.1 between a node refusing revoked edge proxies and edge proxies
// whose certificate is good or revoked.
func TestOCSPVerifyConnectionHandshake(t *testing.T) {
	t.Parallel()
	root := testca.New(t, "root")
	ca := root.Intermediate(t, "issuing")
	r := newOCSPResponder(t, ca)
	node := ca.Server(t, "127.0.0.1")
	checker := &OCSPChecker{Policy: OCSPHardFail, Timeout: 2 * time.Second}

	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{
		Certificates:     []tls.Certificate{node.TLS()},
		ClientAuth:       tls.RequireAndVerifyClientCert,
		ClientCAs:        root.Pool(),
		VerifyConnection: checker.VerifyConnection,
		MinVersion:       tls.VersionTLS12,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })

	handshake := func(t *testing.T, status int) (serverErr, clientErr error) {
		t.Helper()
		client := ca.Issue(t, testca.Options{
			CommonName:  "expc.example.com",
			DNSNames:    []string{"expc.example.com"},
			ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth, x509.ExtKeyUsageServerAuth},
			OCSPServer:  []string{r.URL()},
		})
		r.set(client.Cert, status)

		served := make(chan error, 1)
		go func() {
			conn, err := ln.Accept()
			if err != nil {
				served <- err
				return
			}
			defer conn.Close()
			conn.SetDeadline(time.Now().Add(5 * time.Second))
			tc := conn.(*tls.Conn)
			if err := tc.Handshake(); err != nil {
				served <- err
				return
			}
			_, err = tc.Write([]byte("ok"))
			served <- err
		}()

		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		d := tls.Dialer{
			NetDialer: &net.Dialer{Timeout: 5 * time.Second},
			Config: &tls.Config{
				Certificates: []tls.Certificate{client.TLS()},
				RootCAs:      root.Pool(),
				ServerName:   "127.0.0.1",
				MinVersion:   tls.VersionTLS12,
			},
		}
		conn, err := d.DialContext(ctx, "tcp", ln.Addr().String())
		if err == nil {
			// Under TLS 1.3 the client finishes before the node has
			// judged its certificate; reading shows the node's verdict.
			conn.SetDeadline(time.Now().Add(5 * time.Second))
			buf := make([]byte, 2)
			_, err = io.ReadFull(conn, buf)
			conn.Close()
		}
		select {
		case serverErr = <-served:
		case <-time.After(10 * time.Second):
			t.Fatal("node never finished the handshake")
		}
		return serverErr, err
	}

	t.Run("good", func(t *testing.T) {
		serverErr, clientErr := handshake(t, ocsp.Good)
		if serverErr != nil || clientErr != nil {
			t.Errorf("node: %v; edge: %v; want both nil", serverErr, clientErr)
		}
	})
	t.Run("revoked", func(t *testing.T) {
		serverErr, clientErr := handshake(t, ocsp.Revoked)
		if !errors.Is(serverErr, ErrCertificateRevoked) {
			t.Errorf("node: %v, want ErrCertificateRevoked", serverErr)
		}
		if clientErr == nil {
			t.Error("edge: connection usable although its certificate is revoked")
		}
	})
}
