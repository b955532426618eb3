package prommetrics_test

import (
	"crypto"
	"crypto/tls"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"golang.org/x/time/rate"

	"github.com/sipoauth/sdk/issuer"
	"github.com/sipoauth/sdk/prommetrics"
	"github.com/sipoauth/sdk/registrar"
	"github.com/sipoauth/sdk/sipauth"
	"github.com/sipoauth/sdk/sipoauth"
)

const rawRegister = "REGISTER sip:10.10.10.1 SIP/2.0\r\n" +
	"Via: SIP/2.0/TLS 10.10.10.10:62162;branch=z9hG4bK%d\r\n" +
	"From: <sip:rado@10.10.10.1>;tag=8823\r\n" +
	"To: <sip:rado@10.10.10.1>\r\n" +
	"Call-ID: 88232345@10.10.10.10\r\n" +
	"CSeq: %d REGISTER\r\n" +
	`Contact: <sip:rado@10.10.10.10:62162;transport=tls>;+sip.instance="<urn:uuid:00000000-0000-0000-0000-00505686e0f3>";+u.sip!devicename.ccm.cisco.com="CSFrado"` + "\r\n" +
	"Expires: %d\r\n" +
	"%s" +
	"Content-Length: 0\r\n\r\n"

// tx is a server transaction that drops the answer: HandleRegister
// observes before it answers.
type tx struct{ sip.ServerTransaction }

func (tx) Respond(*sip.Response) error { return nil }

// TestRegistrar drives a registrar's REGISTER path with the metrics as its
// Observer and reads every series back.
func TestRegistrar(t *testing.T) {
	t.Parallel()
	iss, err := issuer.New(issuer.Config{})
	if err != nil {
		t.Fatal(err)
	}
	keys, err := sipoauth.NewStaticKeys(map[string]crypto.PublicKey{iss.KeyID(): iss.PublicKey()})
	if err != nil {
		t.Fatal(err)
	}
	v, err := sipoauth.New(sipoauth.Config{Keys: keys})
	if err != nil {
		t.Fatal(err)
	}
	store := registrar.NewMemoryStore()
	promReg := prometheus.NewRegistry()
	m, err := prommetrics.NewRegistrar(promReg, store)
	if err != nil {
		t.Fatal(err)
	}
	reg, err := registrar.New(registrar.Config{NodeName: "UCM2-PUB",
		Devices:   registrar.MemoryDevices{"CSFrado": {Name: "CSFrado", Owner: "rado", OAuth: true}},
		Validator: v, Store: store, Observer: m,
		PeerInfo: func(*sip.Request, sip.ServerTransaction) registrar.PeerInfo {
			return registrar.PeerInfo{Local: &net.TCPAddr{IP: net.IPv4(10, 10, 10, 1), Port: 5090},
				Remote: &net.TCPAddr{IP: net.IPv4(10, 10, 10, 10), Port: 62162}, TLS: &tls.ConnectionState{}}
		}})
	if err != nil {
		t.Fatal(err)
	}
	good, _ := iss.Mint(issuer.TokenRequest{User: "rado", Device: "CSFrado"})
	expired, _ := iss.Mint(issuer.TokenRequest{User: "rado", Device: "CSFrado", TTL: -time.Hour})
	cseq := 0
	send := func(expires int, token string) {
		t.Helper()
		cseq++
		creds := ""
		if token != "" {
			creds = `Proxy-Authorization: Bearer token="` + token + "\"\r\n"
		}
		msg, err := sip.ParseMessage([]byte(fmt.Sprintf(rawRegister, cseq, cseq, expires, creds)))
		if err != nil {
			t.Fatal(err)
		}
		reg.HandleRegister(msg.(*sip.Request), tx{})
	}
	send(3600, "")      // challenged, no-credentials
	send(3600, expired) // challenged, expired
	send(3600, good)    // registered
	send(3600, good)    // registered (a refresh)
	send(0, good)       // unregistered
	send(3600, good)    // registered again

	for outcome, want := range map[string]float64{"challenged": 2, "registered": 3, "unregistered": 1, "refused": 0, "error": 0} {
		if got := testutil.ToFloat64(m.Registrations.WithLabelValues(outcome)); got != want {
			t.Errorf("sipoauth_registrations_total{outcome=%q} = %v, want %v", outcome, got, want)
		}
	}
	for reason, want := range map[string]float64{"no-credentials": 1, "expired": 1} {
		if got := testutil.ToFloat64(m.AuthFailures.WithLabelValues(reason)); got != want {
			t.Errorf("sipoauth_auth_failures_total{reason=%q} = %v, want %v", reason, got, want)
		}
	}
	if n := testutil.CollectAndCount(m.AuthFailures); n != 2 {
		t.Errorf("%d auth failure series, want 2", n)
	}
	if n := testutil.CollectAndCount(m.Unavailable); n != 0 {
		t.Errorf("%d unavailable series, want none", n)
	}
	if got := testutil.ToFloat64(m.Bindings); got != 1 {
		t.Errorf("sipoauth_bindings = %v, want 1", got)
	}
	// Five token validations timed (the expired one too), six REGISTERs.
	if n := histogramCount(t, promReg, "sipoauth_token_validation_seconds"); n != 5 {
		t.Errorf("%d validations timed, want 5", n)
	}
	if n := histogramCount(t, promReg, "sipoauth_register_seconds"); n != 6 {
		t.Errorf("%d REGISTERs timed, want 6", n)
	}

	// A source over its rate is refused before any work: an error, not an
	// authentication failure.
	lim := &registrar.SourceLimiter{Rate: rate.Every(time.Hour), Burst: 0}
	reg.Admit = lim.Admit
	send(3600, "")
	if got := testutil.ToFloat64(m.Registrations.WithLabelValues("error")); got != 1 {
		t.Errorf("rate-limited: error = %v, want 1", got)
	}
	if got := testutil.ToFloat64(m.AuthFailures.WithLabelValues("no-credentials")); got != 1 {
		t.Errorf("rate-limited counted as no-credentials: %v", got)
	}
}

// TestUnavailable: a failed backend is counted by its reason, apart from
// authentication failures.
func TestUnavailable(t *testing.T) {
	t.Parallel()
	m, err := prommetrics.NewRegistrar(prometheus.NewRegistry(), nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range []string{"store-unavailable", "token-check-unavailable", "store-unavailable"} {
		m.ObserveRegister(&registrar.Request{Reason: sipauth.Reason(r)}, 503, time.Millisecond)
	}
	if got := testutil.ToFloat64(m.Unavailable.WithLabelValues("store-unavailable")); got != 2 {
		t.Errorf("store-unavailable = %v", got)
	}
	if got := testutil.ToFloat64(m.Registrations.WithLabelValues("error")); got != 3 {
		t.Errorf("error = %v", got)
	}
	if n := testutil.CollectAndCount(m.AuthFailures); n != 0 || m.Bindings != nil {
		t.Errorf("%d auth failure series; bindings gauge %v without a counting store", n, m.Bindings)
	}
}

func TestRegisteredTwice(t *testing.T) {
	t.Parallel()
	promReg := prometheus.NewRegistry()
	if _, err := prommetrics.NewRegistrar(promReg, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := prommetrics.NewRegistrar(promReg, nil); err == nil || !strings.Contains(err.Error(), "duplicate") {
		t.Fatalf("second registration on one registry: %v", err)
	}
}

func histogramCount(t *testing.T, g prometheus.Gatherer, name string) uint64 {
	t.Helper()
	mfs, err := g.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name {
			return mf.GetMetric()[0].GetHistogram().GetSampleCount()
		}
	}
	t.Fatalf("no %s", name)
	return 0
}
