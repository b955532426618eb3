package client_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sipoauth/sdk/bearer"
	"github.com/sipoauth/sdk/client"
	"github.com/sipoauth/sdk/cnfxml"
	"github.com/sipoauth/sdk/internal/syncbuf"
	"github.com/sipoauth/sdk/internal/testca"
	"github.com/sipoauth/sdk/issuer"
	"github.com/sipoauth/sdk/sipauth"
)

// contactRE is the Contact Jabber sends, on the connection's local address.
var contactRE = regexp.MustCompile(`^<sip:rado@127\.0\.0\.1:(\d+);transport=tls>;\+sip\.instance="<urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}>";\+u\.sip!devicename\.ccm\.cisco\.com="CSFrado";\+u\.sip!model\.ccm\.cisco\.com="503"$`)

// refreshSource returns a refresh-token source against the lab's issuer,
// for rado's CSFrado.
func (l *lab) refreshSource(initial *client.Token) *client.RefreshTokenSource {
	l.t.Helper()
	src, err := client.NewRefreshTokenSource(client.RefreshConfig{
		TokenURL: l.tokenURL, RefreshToken: l.refreshToken("rado"), Token: initial,
		Params: url.Values{"device": {"CSFrado"}},
	})
	if err != nil {
		l.t.Fatal(err)
	}
	return src
}

// TestFullFlow: the configuration fetched from a cnfxml.Handler, the
// targets, TLS, 407, the retry with the token, 200 with Expires 120 and
// x-cisco-newreg; then Close unregisters. The REGISTERs are checked as
// the registrar read them.
func TestFullFlow(t *testing.T) {
	t.Parallel()
	l := newLab(t, labOptions{})
	base := serveConfigs(t, map[string][]byte{"CSFrado": deviceFile(t, l.addr).Bytes()})
	src := l.refreshSource(nil)
	ev := newEvents()
	c, err := client.New(client.Config{
		DeviceName: "CSFrado", ConfigURL: base, TLSConfig: l.tlsConfig(),
		Tokens: src, Logger: quiet, OnEvent: ev.on,
	})
	if err != nil {
		t.Fatal(err)
	}
	targets, err := c.Targets(ctx(t, 5*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	if len(targets) != 1 || targets[0].Host != "127.0.0.1" || targets[0].Port != l.port || targets[0].Addr != l.addr || targets[0].ServerName != "127.0.0.1" || !targets[0].OAuth || targets[0].ProcessNodeName != "ccm12pub" {
		t.Fatalf("targets %+v", targets)
	}

	reg, err := c.Register(ctx(t, 10*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	if reg.FirstStatus != 407 || reg.FirstReason != "Proxy Authentication Required" ||
		reg.ChallengeHeader != "Proxy-Authenticate" || reg.Challenge != `Bearer realm="ccmsipline"` {
		t.Errorf("first answer: %d %s, %s: %s", reg.FirstStatus, reg.FirstReason, reg.ChallengeHeader, reg.Challenge)
	}
	if reg.Status != 200 || reg.Reason != "OK" || reg.Expires != 120*time.Second || reg.Requested != time.Hour || !reg.NewRegistration {
		t.Errorf("final answer: %d %s, expires %s of %s, new %v", reg.Status, reg.Reason, reg.Expires, reg.Requested, reg.NewRegistration)
	}
	if reg.Target.Addr != l.addr || reg.RemoteAddr != l.addr || !strings.HasPrefix(reg.LocalAddr, "127.0.0.1:") {
		t.Errorf("target %v, addresses %s -> %s", reg.Target, reg.LocalAddr, reg.RemoteAddr)
	}
	if len(reg.Exchanges) != 2 || reg.Exchanges[0].Credentials != "" || reg.Exchanges[0].Status != 407 ||
		reg.Exchanges[1].Credentials != "Proxy-Authorization" || reg.Exchanges[1].CredentialsForm != bearer.FormCisco || reg.Exchanges[1].Status != 200 ||
		reg.Exchanges[1].CSeq != reg.Exchanges[0].CSeq+1 || reg.Exchanges[0].Branch == reg.Exchanges[1].Branch {
		t.Errorf("exchanges %+v", reg.Exchanges)
	}
	if h := reg.Response.GetHeader("Contact"); h == nil || !strings.HasSuffix(h.Value(), ";expires=120;x-cisco-newreg") {
		t.Errorf("final response:\n%s", reg.Response)
	}

	tok, _ := src.Token(ctx(t, time.Second))
	msgs := l.tap.registers()
	if len(msgs) != 2 {
		t.Fatalf("%d REGISTERs received:\n%s", len(msgs), strings.Join(msgs, "\n"))
	}
	first, second := msgs[0], msgs[1]
	for i, m := range msgs {
		if startLine(m) != "REGISTER sip:127.0.0.1 SIP/2.0" {
			t.Errorf("REGISTER %d: %q", i, startLine(m))
		}
		if header(m, "From") == "" || !strings.HasPrefix(header(m, "From"), "<sip:rado@127.0.0.1>;tag=") || header(m, "To") != "<sip:rado@127.0.0.1>" {
			t.Errorf("REGISTER %d: From %q To %q", i, header(m, "From"), header(m, "To"))
		}
		cm := contactRE.FindStringSubmatch(header(m, "Contact"))
		if cm == nil || "127.0.0.1:"+cm[1] != reg.LocalAddr || header(m, "Contact") != reg.Contact {
			t.Errorf("REGISTER %d: Contact %q", i, header(m, "Contact"))
		}
		if header(m, "Expires") != "3600" || header(m, "User-Agent") != "Cisco-CSF" || header(m, "Max-Forwards") != "70" || header(m, "Content-Length") != "0" {
			t.Errorf("REGISTER %d:\n%s", i, m)
		}
		if !strings.HasPrefix(header(m, "Via"), "SIP/2.0/TLS "+reg.LocalAddr+";branch=z9hG4bK") {
			t.Errorf("REGISTER %d: Via %q", i, header(m, "Via"))
		}
	}
	if header(first, "Proxy-Authorization") != "" || header(first, "Authorization") != "" {
		t.Errorf("first REGISTER carries credentials:\n%s", first)
	}
	if got, want := header(second, "Proxy-Authorization"), `Bearer token="`+tok.AccessToken+`"`; got != want {
		t.Errorf("Proxy-Authorization %q, want %q", got, want)
	}
	if cseq(t, second) != cseq(t, first)+1 || branch(first) == branch(second) || branch(second) != reg.Exchanges[1].Branch ||
		header(first, "Call-ID") != header(second, "Call-ID") || header(first, "From") != header(second, "From") {
		t.Errorf("retry not in the same registration:\n%s\n%s", first, second)
	}
	if !strings.Contains(strings.Join(msgs, ""), "CSeq: "+fmt.Sprint(reg.Exchanges[1].CSeq)+" REGISTER\r\n") {
		t.Errorf("CSeq header format:\n%s", second)
	}
	bs := l.bindings()
	if len(bs) != 1 || bs[0].Device != "CSFrado" || bs[0].User != "rado" || bs[0].Contact != "sip:rado@"+reg.LocalAddr+";transport=tls" {
		t.Fatalf("bindings %+v", bs)
	}

	// Close unregisters: Expires 0, the same Contact, the token.
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if bs := l.bindings(); len(bs) != 0 {
		t.Fatalf("bindings after Close: %+v", bs)
	}
	msgs = l.tap.registers()
	if len(msgs) != 3 {
		t.Fatalf("%d REGISTERs after Close", len(msgs))
	}
	unreg := msgs[2]
	if header(unreg, "Expires") != "0" || header(unreg, "Contact") != reg.Contact || header(unreg, "Proxy-Authorization") != `Bearer token="`+tok.AccessToken+`"` ||
		cseq(t, unreg) != cseq(t, second)+1 || header(unreg, "Call-ID") != header(second, "Call-ID") {
		t.Errorf("unregister:\n%s", unreg)
	}
	if got := ev.kinds(); !slices.Equal(got, []string{"registered", "unregistered"}) {
		t.Errorf("events %v", got)
	}
	if _, err := c.Register(ctx(t, time.Second)); !errors.Is(err, client.ErrClosed) {
		t.Errorf("Register after Close: %v", err)
	}
}

// TestRFC8898 registers with a registrar that challenges with 401 and
// WWW-Authenticate; the client answers Authorization: Bearer <token>.
func TestRFC8898(t *testing.T) {
	t.Parallel()
	ch := bearer.Challenge{Realm: "sip.example.com", Scope: "sip:register", AuthzServer: "https://cucm.example.com/oauth"}
	l := newLab(t, labOptions{mode: sipauth.RFC8898Mode, challenge: ch})
	tok := l.mint(issuer.TokenRequest{User: "rado", Device: "CSFrado"})
	c := newClient(t, client.Config{
		DeviceName: "CSFrado", Device: deviceFile(t, l.addr), TLSConfig: l.tlsConfig(),
		Tokens: client.StaticTokenSource(&client.Token{AccessToken: tok}), Form: bearer.FormRFC6750, Logger: quiet,
	})
	reg, err := c.Register(ctx(t, 10*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	if reg.FirstStatus != 401 || reg.ChallengeHeader != "WWW-Authenticate" || reg.Challenge != ch.String() || reg.Status != 200 || reg.Expires != 120*time.Second {
		t.Fatalf("registration %d %s: %s; %d %s", reg.FirstStatus, reg.ChallengeHeader, reg.Challenge, reg.Status, reg.Expires)
	}
	msgs := l.tap.registers()
	if len(msgs) != 2 {
		t.Fatalf("%d REGISTERs", len(msgs))
	}
	if got := header(msgs[1], "Authorization"); got != "Bearer "+tok {
		t.Errorf("Authorization %q", got)
	}
	if header(msgs[1], "Proxy-Authorization") != "" || reg.Exchanges[1].Credentials != "Authorization" || reg.Exchanges[1].CredentialsForm != bearer.FormRFC6750 {
		t.Errorf("second REGISTER:\n%s", msgs[1])
	}
}

// closedPort returns a local address nothing listens on.
func closedPort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// TestFailoverRefused: the first node refuses connections; the client
// registers with the second and reports the switch.
func TestFailoverRefused(t *testing.T) {
	t.Parallel()
	l := newLab(t, labOptions{})
	dead := closedPort(t)
	ev := newEvents()
	c := newClient(t, client.Config{
		DeviceName: "CSFrado", Device: deviceFile(t, dead, l.addr), TLSConfig: l.tlsConfig(),
		Tokens: l.refreshSource(nil), Logger: quiet, OnEvent: ev.on,
	})
	reg, err := c.Register(ctx(t, 10*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	if reg.Target.Addr != l.addr || reg.Target.Priority != 1 || reg.Status != 200 {
		t.Fatalf("registered on %v (priority %d): %d", reg.Target, reg.Target.Priority, reg.Status)
	}
	sw := ev.wait(t, client.EventTargetSwitched, 2*time.Second)
	var te *client.TargetError
	if sw.Target.Addr != l.addr || !errors.As(sw.Err, &te) || te.Op != "dial" || te.Target.Addr != dead {
		t.Fatalf("switch event %+v", sw)
	}
	ev.wait(t, client.EventRegistered, 2*time.Second)
	if len(l.bindings()) != 1 {
		t.Fatalf("bindings %+v", l.bindings())
	}
}

// TestWrongCA: a node whose certificate does not verify against the trust
// pool is not registered with; the client fails over to the next node,
// and fails clearly when no node verifies.
func TestWrongCA(t *testing.T) {
	t.Parallel()
	l := newLab(t, labOptions{})
	other := testca.New(t, "Other CA")

	// A node presenting a certificate of another CA, then the good node.
	rogue, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{other.Server(t, "127.0.0.1").TLS()}})
	if err != nil {
		t.Fatal(err)
	}
	defer rogue.Close()
	go func() {
		for {
			c, err := rogue.Accept()
			if err != nil {
				return
			}
			go func() { c.(*tls.Conn).Handshake(); io.Copy(io.Discard, c); c.Close() }()
		}
	}()
	c := newClient(t, client.Config{
		DeviceName: "CSFrado", Device: deviceFile(t, rogue.Addr().String(), l.addr), TLSConfig: l.tlsConfig(),
		Tokens: l.refreshSource(nil), Logger: quiet,
	})
	reg, err := c.Register(ctx(t, 10*time.Second))
	if err != nil || reg.Target.Addr != l.addr {
		t.Fatalf("failover past the rogue node: %v, %v", reg.Target, err)
	}

	// Trusting only the other CA: no node verifies.
	c2, err := client.New(client.Config{
		DeviceName: "CSFrado", Device: deviceFile(t, l.addr), TLSConfig: &tls.Config{RootCAs: other.Pool()},
		Tokens: l.refreshSource(nil), Logger: quiet,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	before := len(l.tap.registers())
	_, err = c2.Register(ctx(t, 10*time.Second))
	var all *client.AllTargetsFailedError
	var te *client.TargetError
	var verr *tls.CertificateVerificationError
	var unknown x509.UnknownAuthorityError
	if !errors.As(err, &all) || len(all.Errs) != 1 || !errors.As(err, &te) || te.Op != "tls" || !errors.As(err, &verr) || !errors.As(err, &unknown) {
		t.Fatalf("error %v", err)
	}
	if !strings.Contains(err.Error(), "127.0.0.1:"+fmt.Sprint(l.port)+": tls: ") || !strings.Contains(err.Error(), "certificate signed by unknown authority") {
		t.Errorf("message %q", err)
	}
	if after := len(l.tap.registers()); after != before {
		t.Errorf("REGISTER sent over an unverified connection")
	}
}

// TestPortMismatch: a device whose profile lacks OAuth gets Unified CM's
// 403 with Retry-After 35, reported as a *PortMismatchError.
func TestPortMismatch(t *testing.T) {
	t.Parallel()
	l := newLab(t, labOptions{})
	cfg := deviceFile(t, l.addr)
	ev := newEvents()
	c := newClient(t, client.Config{
		DeviceName: "SEPlegacy", Device: cfg, TLSConfig: l.tlsConfig(), Logger: quiet, OnEvent: ev.on,
		Tokens: client.StaticTokenSource(&client.Token{AccessToken: l.mint(issuer.TokenRequest{User: "rado", Device: "SEPlegacy"})}),
	})
	reg, err := c.Register(ctx(t, 10*time.Second))
	var pm *client.PortMismatchError
	if !errors.As(err, &pm) || !errors.Is(err, client.ErrPortMismatch) {
		t.Fatalf("error %v", err)
	}
	if pm.RetryAfter != 35*time.Second || pm.Node != nodeName || pm.Warning != `399 UCM2-PUB "SIP OAuth Registration port Mismatch"` || pm.ClientCertificate || pm.Target.Addr != l.addr {
		t.Fatalf("mismatch %+v", pm)
	}
	if got := pm.Causes().Codes(); !slices.Equal(got, []string{client.CodeProfileWithoutOAuth, client.CodeOAuthDisabled, client.CodeWrongConnectionKind}) {
		t.Errorf("causes %v", got)
	}
	for _, f := range pm.Causes() {
		if f.Message == "" || f.Fix == "" {
			t.Errorf("cause %+v", f)
		}
	}
	if reg.Status != 403 || reg.FirstStatus != 403 || len(reg.Exchanges) != 1 || reg.Exchanges[0].RetryAfter != 35*time.Second {
		t.Errorf("registration %+v", reg)
	}
	want := "client: 127.0.0.1:" + fmt.Sprint(l.port) + ": 403 SIP OAuth Registration port Mismatch from UCM2-PUB, retry after 35s"
	if err.Error() != want {
		t.Errorf("message %q, want %q", err, want)
	}
	e := ev.wait(t, client.EventPortMismatch, 2*time.Second)
	if e.Status != 403 || !errors.As(e.Err, &pm) {
		t.Errorf("event %+v", e)
	}
}

// TestPortMismatchClientCertificate: presenting a client certificate on the
// OAuth port is the third cause, listed first.
func TestPortMismatchClientCertificate(t *testing.T) {
	t.Parallel()
	l := newLab(t, labOptions{requestMTLS: true})
	cfg := l.tlsConfig()
	cfg.Certificates = []tls.Certificate{testca.New(t, "Device CA").Client(t, "csfrado.example.com").TLS()}
	c := newClient(t, client.Config{
		DeviceName: "CSFrado", Device: deviceFile(t, l.addr), TLSConfig: cfg, Logger: quiet,
		Tokens: l.refreshSource(nil),
	})
	_, err := c.Register(ctx(t, 10*time.Second))
	var pm *client.PortMismatchError
	if !errors.As(err, &pm) || !pm.ClientCertificate {
		t.Fatalf("error %v", err)
	}
	if causes := pm.Causes(); causes[0].Code != client.CodeWrongConnectionKind || !strings.HasSuffix(causes[0].Message, "this client presented a certificate") {
		t.Errorf("causes %v", causes)
	}
}

// TestRunPortMismatchRetryAfter: Run waits the Retry-After before trying
// again.
// Not parallel: it times the client's timers on the wall clock over a
// real connection, which parallel load would skew.
func TestRunPortMismatchRetryAfter(t *testing.T) {
	l := newLab(t, labOptions{retryAfter: 1})
	l.oauth.Store(false) // cause 1: OAuth off cluster-wide
	ev := newEvents()
	c := newClient(t, client.Config{
		DeviceName: "CSFrado", Device: deviceFile(t, l.addr), TLSConfig: l.tlsConfig(), Logger: quiet, OnEvent: ev.on,
		Tokens: l.refreshSource(nil),
	})
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx(t, 20*time.Second)) }()
	e1 := ev.wait(t, client.EventPortMismatch, 5*time.Second)
	e2 := ev.wait(t, client.EventPortMismatch, 5*time.Second)
	if gap := e2.Time.Sub(e1.Time); gap < 900*time.Millisecond || gap > 3*time.Second {
		t.Errorf("retried after %s, want the Retry-After of 1s", gap)
	}
	var pm *client.PortMismatchError
	if !errors.As(e1.Err, &pm) || pm.RetryAfter != time.Second {
		t.Errorf("event %+v", e1)
	}
	// The cluster switch turned on: the next attempt registers.
	l.oauth.Store(true)
	ev.wait(t, client.EventRegistered, 5*time.Second)
	c.Close()
	if err := <-done; !errors.Is(err, client.ErrClosed) {
		t.Errorf("Run returned %v", err)
	}
	if len(l.bindings()) != 0 {
		t.Errorf("bindings after Close: %+v", l.bindings())
	}
}

// TestInvalidTokenRefresh: the registrar refuses an expired token with
// error="invalid_token"; the client renews it through the token endpoint
// and registers, never sending the expired token again.
func TestInvalidTokenRefresh(t *testing.T) {
	t.Parallel()
	l := newLab(t, labOptions{})
	expired := l.mint(issuer.TokenRequest{User: "rado", Device: "CSFrado", TTL: -time.Hour})
	// The source believes the token valid for an hour.
	src := l.refreshSource(&client.Token{AccessToken: expired, Expiry: time.Now().Add(time.Hour)})
	c := newClient(t, client.Config{
		DeviceName: "CSFrado", Device: deviceFile(t, l.addr), TLSConfig: l.tlsConfig(), Tokens: src, Logger: quiet,
	})
	reg, err := c.Register(ctx(t, 10*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	var statuses []int
	for _, x := range reg.Exchanges {
		statuses = append(statuses, x.Status)
	}
	if !slices.Equal(statuses, []int{407, 407, 200}) || reg.Exchanges[1].Challenge != `Bearer realm="ccmsipline", error="invalid_token"` {
		t.Fatalf("exchanges %+v", reg.Exchanges)
	}
	fresh, _ := src.Token(ctx(t, time.Second))
	if fresh.AccessToken == expired {
		t.Fatal("the source kept the refused token")
	}
	msgs := l.tap.registers()
	if len(msgs) != 3 {
		t.Fatalf("%d REGISTERs", len(msgs))
	}
	if header(msgs[1], "Proxy-Authorization") != `Bearer token="`+expired+`"` || header(msgs[2], "Proxy-Authorization") != `Bearer token="`+fresh.AccessToken+`"` {
		t.Errorf("credentials sent:\n%s\n%s", header(msgs[1], "Proxy-Authorization"), header(msgs[2], "Proxy-Authorization"))
	}
	// A refresh is sent with the fresh token, never the expired one.
	if _, err := c.Register(ctx(t, 10*time.Second)); err != nil {
		t.Fatal(err)
	}
	all := strings.Join(l.tap.registers(), "")
	if n := strings.Count(all, expired); n != 1 {
		t.Errorf("the refused token was sent %d times", n)
	}
	if n := strings.Count(all, fresh.AccessToken); n != 2 {
		t.Errorf("the fresh token was sent %d times, want 2", n)
	}
}

// TestTokenRefused: when no other token can be had, or the renewed one is
// refused too, the client reports ErrTokenRefused and sends no refused
// token again, even from Run.
func TestTokenRefused(t *testing.T) {
	t.Parallel()
	l := newLab(t, labOptions{})
	t.Run("static", func(t *testing.T) {
		expired := l.mint(issuer.TokenRequest{User: "rado", Device: "CSFrado", TTL: -time.Hour})
		ev := newEvents()
		c, err := client.New(client.Config{
			DeviceName: "CSFrado", Device: deviceFile(t, l.addr), TLSConfig: l.tlsConfig(), Logger: quiet, OnEvent: ev.on,
			Tokens: client.StaticTokenSource(&client.Token{AccessToken: expired}),
		})
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		reg, err := c.Register(ctx(t, 10*time.Second))
		var re *client.RejectedError
		if !errors.As(err, &re) || !errors.Is(err, client.ErrTokenRefused) || re.Status != 407 || re.ChallengeError != bearer.InvalidToken {
			t.Fatalf("error %v", err)
		}
		if len(reg.Exchanges) != 2 {
			t.Fatalf("exchanges %+v", reg.Exchanges)
		}
		// Run gives up at once rather than resend the token.
		start := time.Now()
		if err := c.Run(ctx(t, 10*time.Second)); !errors.Is(err, client.ErrTokenRefused) {
			t.Fatalf("Run: %v", err)
		}
		if time.Since(start) > 5*time.Second {
			t.Errorf("Run took %s", time.Since(start))
		}
		if n := strings.Count(strings.Join(l.tap.registers(), ""), expired); n != 1 {
			t.Errorf("the refused token was sent %d times", n)
		}
		if strings.Contains(err.Error(), expired) {
			t.Errorf("the error carries the token")
		}
		e := ev.wait(t, client.EventFailed, 2*time.Second)
		if !errors.Is(e.Err, client.ErrTokenRefused) {
			t.Errorf("event %+v", e)
		}
	})
	t.Run("renewed token refused", func(t *testing.T) {
		// A token endpoint whose tokens the registrar does not trust.
		foreign := newLab(t, labOptions{})
		src, err := client.NewRefreshTokenSource(client.RefreshConfig{TokenURL: foreign.tokenURL, RefreshToken: foreign.refreshToken("rado")})
		if err != nil {
			t.Fatal(err)
		}
		before := len(l.tap.registers())
		c, err := client.New(client.Config{
			DeviceName: "CSFrado", Device: deviceFile(t, l.addr), TLSConfig: l.tlsConfig(), Tokens: src, Logger: quiet,
		})
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		_, err = c.Register(ctx(t, 10*time.Second))
		var re *client.RejectedError
		if !errors.As(err, &re) || !errors.Is(err, client.ErrTokenRefused) || re.ChallengeError != bearer.InvalidToken {
			t.Fatalf("error %v", err)
		}
		msgs := l.tap.registers()[before:]
		if len(msgs) != 3 {
			t.Fatalf("%d REGISTERs", len(msgs))
		}
		t1, t2 := header(msgs[1], "Proxy-Authorization"), header(msgs[2], "Proxy-Authorization")
		if t1 == "" || t2 == "" || t1 == t2 || header(msgs[0], "Proxy-Authorization") != "" {
			t.Errorf("credentials %q then %q", t1, t2)
		}
	})
}

// TestReRegister: with a registrar that grants 2 s, Run registers again
// before the binding expires, on the same connection, with the token
// sent at once; Close unregisters.
// Not parallel: it times the client's timers on the wall clock over a
// real connection, which parallel load would skew.
func TestReRegister(t *testing.T) {
	l := newLab(t, labOptions{maxExpires: 2 * time.Second})
	ev := newEvents()
	c, err := client.New(client.Config{
		DeviceName: "CSFrado", Device: deviceFile(t, l.addr), TLSConfig: l.tlsConfig(),
		Tokens: l.refreshSource(nil), Logger: quiet, OnEvent: ev.on,
	})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx(t, 20*time.Second)) }()
	r := ev.wait(t, client.EventRegistered, 5*time.Second)
	if r.Expires != 2*time.Second || r.Status != 200 {
		t.Fatalf("registered %+v", r)
	}
	var times []time.Time
	for range 2 {
		e := ev.wait(t, client.EventRefreshed, 5*time.Second)
		if e.Expires != 2*time.Second {
			t.Errorf("refreshed %+v", e)
		}
		times = append(times, e.Time)
		// The binding never lapses.
		if bs := l.bindings(); len(bs) != 1 || time.Until(bs[0].Expires) < 500*time.Millisecond {
			t.Fatalf("bindings %+v", bs)
		}
	}
	// timerRegisterDelta (5 s) is longer than the 2 s granted: half of it.
	if gap := times[1].Sub(times[0]); gap < 800*time.Millisecond || gap > 1800*time.Millisecond {
		t.Errorf("refreshes %s apart, want about 1s", gap)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if err := <-done; !errors.Is(err, client.ErrClosed) {
		t.Errorf("Run returned %v", err)
	}
	msgs := l.tap.registers()
	if len(msgs) < 5 {
		t.Fatalf("%d REGISTERs", len(msgs))
	}
	callID := header(msgs[0], "Call-ID")
	for i, m := range msgs {
		if header(m, "Call-ID") != callID || (i > 0 && cseq(t, m) != cseq(t, msgs[i-1])+1) {
			t.Errorf("REGISTER %d out of the registration:\n%s", i, m)
		}
		if i >= 2 && !strings.HasPrefix(header(m, "Proxy-Authorization"), `Bearer token="`) {
			t.Errorf("refresh %d without the token", i)
		}
	}
	if last := msgs[len(msgs)-1]; header(last, "Expires") != "0" || len(l.bindings()) != 0 {
		t.Errorf("not unregistered:\n%s", last)
	}
	if len(l.tap.conns) != 1 {
		t.Errorf("%d connections, want one", len(l.tap.conns))
	}
}

// TestConnectionLost: when the registrar drops the connection, Run
// connects again and registers a new binding at once.
func TestConnectionLost(t *testing.T) {
	t.Parallel()
	l := newLab(t, labOptions{})
	ev := newEvents()
	c := newClient(t, client.Config{
		DeviceName: "CSFrado", Device: deviceFile(t, l.addr), TLSConfig: l.tlsConfig(),
		Tokens: l.refreshSource(nil), Logger: quiet, OnEvent: ev.on,
	})
	go c.Run(ctx(t, 20*time.Second))
	ev.wait(t, client.EventRegistered, 5*time.Second)
	if err := c.Run(ctx(t, time.Second)); err == nil || !strings.Contains(err.Error(), "already running") {
		t.Errorf("second Run: %v", err)
	}
	l.tap.closeAll()
	start := time.Now()
	ev.wait(t, client.EventRegistered, 5*time.Second)
	if time.Since(start) > 3*time.Second {
		t.Errorf("registered again after %s", time.Since(start))
	}
	if n := len(l.tap.conns); n != 2 {
		t.Fatalf("%d connections", n)
	}
	// The same +sip.instance: the new contact replaces the old one.
	second := l.tap.registers()[2]
	if bs := l.bindings(); len(bs) != 1 || "<"+bs[0].Contact+">" != strings.SplitAfter(header(second, "Contact"), ">")[0] {
		t.Errorf("bindings %+v", bs)
	}
}

// edgeRelay is an edge proxy stand-in: it terminates TLS with its own
// certificate and relays the bytes over a new TLS connection to the node.
func edgeRelay(t *testing.T, l *lab, cert tls.Certificate) string {
	t.Helper()
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{cert}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			in, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer in.Close()
				out, err := tls.Dial("tcp", l.addr, &tls.Config{RootCAs: l.ca.Pool(), ServerName: "127.0.0.1"})
				if err != nil {
					return
				}
				defer out.Close()
				var wg sync.WaitGroup
				wg.Add(1)
				go func() { defer wg.Done(); io.Copy(out, in); out.CloseWrite() }()
				io.Copy(in, out)
				in.Close()
				wg.Wait()
			}()
		}
	}()
	return ln.Addr().String()
}

// TestMRA connects to the edge proxy, verified by its own name, while the
// Request-URI names the node and its sipMRAOAuthPort.
func TestMRA(t *testing.T) {
	t.Parallel()
	l := newLab(t, labOptions{})
	edge := edgeRelay(t, l, l.ca.Server(t, "edge.example.test").TLS())
	cfg := deviceFile(t, l.addr)
	cfg.CallManagers[0].Ports.SIPMRAOAuth = 5191
	c := newClient(t, client.Config{
		DeviceName: "CSFrado", Device: cfg, Deployment: cnfxml.MRA, EdgeAddr: edge, EdgeServerName: "edge.example.test",
		TLSConfig: l.tlsConfig(), Tokens: l.refreshSource(nil), Logger: quiet,
	})
	reg, err := c.Register(ctx(t, 10*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	if !reg.Target.Edge || reg.Target.Addr != edge || reg.Target.Port != 5191 || reg.Target.ServerName != "edge.example.test" ||
		reg.RemoteAddr != edge || reg.Target.String() != "127.0.0.1:5191 via "+edge {
		t.Fatalf("target %+v, remote %s", reg.Target, reg.RemoteAddr)
	}
	msgs := l.tap.registers()
	if len(msgs) != 2 || startLine(msgs[0]) != "REGISTER sip:127.0.0.1:5191 SIP/2.0" || header(msgs[0], "To") != "<sip:rado@127.0.0.1>" {
		t.Fatalf("REGISTERs:\n%s", strings.Join(msgs, "\n"))
	}

	// The edge proxy's certificate must carry the name expected of it.
	c2, err := client.New(client.Config{
		DeviceName: "CSFrado", Device: cfg, Deployment: cnfxml.MRA, EdgeAddr: edge, EdgeServerName: "expe.example.com",
		TLSConfig: l.tlsConfig(), Tokens: l.refreshSource(nil), Logger: quiet,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	_, err = c2.Register(ctx(t, 10*time.Second))
	var he x509.HostnameError
	if !errors.As(err, &he) || he.Host != "expe.example.com" {
		t.Fatalf("error %v", err)
	}
}

// TestTimersFromFile: the Expires asked for is the file's
// timerRegisterExpires.
func TestTimersFromFile(t *testing.T) {
	t.Parallel()
	l := newLab(t, labOptions{})
	b := deviceFile(t, l.addr).Bytes()
	b = []byte(strings.Replace(string(b), "<timerRegisterExpires>3600<", "<timerRegisterExpires>1800<", 1))
	base := serveConfigs(t, map[string][]byte{"CSFrado": b})
	c := newClient(t, client.Config{
		DeviceName: "CSFrado", ConfigURL: base + "CSFrado.cnf.xml", TLSConfig: l.tlsConfig(), Tokens: l.refreshSource(nil), Logger: quiet,
	})
	reg, err := c.Register(ctx(t, 10*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	if reg.Requested != 30*time.Minute || header(l.tap.registers()[0], "Expires") != "1800" {
		t.Fatalf("requested %s", reg.Requested)
	}
}

// TestNewRefusesBadConfig: New refuses what would break a header or
// cannot work.
func TestNewRefusesBadConfig(t *testing.T) {
	t.Parallel()
	tokens := client.StaticTokenSource(&client.Token{AccessToken: "x"})
	dev := cnfxml.NewCSF("CSFrado")
	cases := map[string]client.Config{
		"bad device name":  {DeviceName: "CSF rado", Device: dev, Tokens: tokens},
		"no tokens":        {DeviceName: "CSFrado", Device: dev},
		"no configuration": {DeviceName: "CSFrado", Tokens: tokens},
		"user with angle":  {DeviceName: "CSFrado", Device: dev, Tokens: tokens, User: "rado>"},
		"MRA without edge": {DeviceName: "CSFrado", Device: dev, Tokens: tokens, Deployment: cnfxml.MRA},
		"instance quote":   {DeviceName: "CSFrado", Device: dev, Tokens: tokens, Instance: `urn:uuid:"x`},
		"model space":      {DeviceName: "CSFrado", Device: dev, Tokens: tokens, Model: "5 03"},
		"user agent CRLF":  {DeviceName: "CSFrado", Device: dev, Tokens: tokens, UserAgent: "x\r\nVia: y"},
		"negative expires": {DeviceName: "CSFrado", Device: dev, Tokens: tokens, Expires: -time.Second},
	}
	for name, cfg := range cases {
		if c, err := client.New(cfg); err == nil {
			c.Close()
			t.Errorf("%s: accepted", name)
		} else if !strings.HasPrefix(err.Error(), "client: ") {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// TestNoUsableTargets: OAuth disabled in the file, or no node, fails
// before anything is sent.
func TestNoUsableTargets(t *testing.T) {
	t.Parallel()
	tokens := client.StaticTokenSource(&client.Token{AccessToken: "x"})
	off := cnfxml.NewCSF("CSFrado")
	off.SIPOAuthMode = 0
	off.UserID = "rado"
	c, _ := client.New(client.Config{DeviceName: "CSFrado", Device: off, Tokens: tokens, Logger: quiet})
	if _, err := c.Register(ctx(t, time.Second)); !errors.Is(err, client.ErrOAuthDisabled) {
		t.Errorf("mode 0: %v", err)
	}
	c.Close()
	empty := cnfxml.NewCSF("CSFrado")
	empty.UserID = "rado"
	c, _ = client.New(client.Config{DeviceName: "CSFrado", Device: empty, Tokens: tokens, Logger: quiet})
	if _, err := c.Register(ctx(t, time.Second)); !errors.Is(err, client.ErrNoTargets) {
		t.Errorf("no node: %v", err)
	}
	c.Close()
	bad := cnfxml.NewCSF("CSFrado")
	bad.CallManagers = append(bad.CallManagers, cnfxml.CallManager{Name: "10.0.0.1>;x", Ports: cnfxml.Ports{SIPOAuth: 5090}})
	c, _ = client.New(client.Config{DeviceName: "CSFrado", User: "rado", Device: bad, Tokens: tokens, Logger: quiet})
	if _, err := c.Register(ctx(t, time.Second)); !errors.Is(err, client.ErrNoTargets) {
		t.Errorf("node name that cannot be sent: %v", err)
	}
	c.Close()
}

// TestRunAfterRegister: Run keeps the binding Register made until it is
// due for renewal, rather than register again at once.
// Not parallel: it times the client's timers on the wall clock over a
// real connection, which parallel load would skew.
func TestRunAfterRegister(t *testing.T) {
	l := newLab(t, labOptions{maxExpires: 2 * time.Second})
	ev := newEvents()
	c := newClient(t, client.Config{
		DeviceName: "CSFrado", Device: deviceFile(t, l.addr), TLSConfig: l.tlsConfig(),
		Tokens: l.refreshSource(nil), Logger: quiet, OnEvent: ev.on,
	})
	reg, err := c.Register(ctx(t, 10*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	go c.Run(ctx(t, 20*time.Second))
	time.Sleep(300 * time.Millisecond)
	if n := len(l.tap.registers()); n != 2 {
		t.Fatalf("%d REGISTERs right after Run started, want the 2 of Register", n)
	}
	e := ev.wait(t, client.EventRefreshed, 5*time.Second)
	if gap := e.Time.Sub(reg.At); gap < 900*time.Millisecond || gap > 2*time.Second {
		t.Errorf("refreshed %s after the registration, want about 1s", gap)
	}
}

// TestDialOverride: nodes named in the file by host name are reached
// through Config.Dial, and each is verified against its own name.
func TestDialOverride(t *testing.T) {
	t.Parallel()
	l := newLab(t, labOptions{names: []string{"ucm-pub.example.test"}})
	var dialed []string
	var mu sync.Mutex
	dialer := &net.Dialer{}
	cfg := deviceFile(t, "ucm-pub.example.test:5090")
	c := newClient(t, client.Config{
		DeviceName: "CSFrado", Device: cfg, TLSConfig: l.tlsConfig(), Tokens: l.refreshSource(nil), Logger: quiet,
		Dial: func(ctx context.Context, network, addr string) (net.Conn, error) {
			mu.Lock()
			dialed = append(dialed, network+" "+addr)
			mu.Unlock()
			return dialer.DialContext(ctx, network, l.addr)
		},
	})
	reg, err := c.Register(ctx(t, 10*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	if reg.Target.ServerName != "ucm-pub.example.test" || reg.Target.Addr != "ucm-pub.example.test:5090" || !slices.Equal(dialed, []string{"tcp ucm-pub.example.test:5090"}) {
		t.Fatalf("target %+v, dialed %v", reg.Target, dialed)
	}
	msgs := l.tap.registers()
	if startLine(msgs[0]) != "REGISTER sip:ucm-pub.example.test SIP/2.0" || header(msgs[0], "To") != "<sip:rado@ucm-pub.example.test>" {
		t.Fatalf("REGISTER:\n%s", msgs[0])
	}
	if len(l.bindings()) != 1 {
		t.Fatal("no binding")
	}
}

// TestCloseAfterConnectionLost: Close removes a binding whose connection
// is gone, over a new connection, with the Contact it was made with.
func TestCloseAfterConnectionLost(t *testing.T) {
	t.Parallel()
	l := newLab(t, labOptions{})
	c, err := client.New(client.Config{
		DeviceName: "CSFrado", Device: deviceFile(t, l.addr), TLSConfig: l.tlsConfig(), Tokens: l.refreshSource(nil), Logger: quiet,
	})
	if err != nil {
		t.Fatal(err)
	}
	reg, err := c.Register(ctx(t, 10*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	l.tap.closeAll()
	time.Sleep(100 * time.Millisecond)
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	msgs := l.tap.registers()
	if len(msgs) != 3 || len(l.tap.conns) != 2 {
		t.Fatalf("%d REGISTERs on %d connections", len(msgs), len(l.tap.conns))
	}
	if header(msgs[2], "Contact") != reg.Contact || header(msgs[2], "Expires") != "0" {
		t.Errorf("unregister:\n%s", msgs[2])
	}
	if bs := l.bindings(); len(bs) != 0 {
		t.Errorf("bindings %+v", bs)
	}
}

// TestSlowOnEvent: an OnEvent that blocks holds up neither registration
// nor Close for long; the events it cannot take are dropped.
func TestSlowOnEvent(t *testing.T) {
	t.Parallel()
	l := newLab(t, labOptions{})
	release := make(chan struct{})
	var got []client.EventKind
	var mu sync.Mutex
	c, err := client.New(client.Config{
		DeviceName: "CSFrado", Device: deviceFile(t, closedPort(t), l.addr), TLSConfig: l.tlsConfig(),
		Tokens: l.refreshSource(nil), Logger: quiet, EventBuffer: 1,
		OnEvent: func(e client.Event) {
			<-release
			mu.Lock()
			got = append(got, e.Kind)
			mu.Unlock()
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	for range 3 {
		if _, err := c.Register(ctx(t, 10*time.Second)); err != nil {
			t.Fatal(err)
		}
	}
	if time.Since(start) > 5*time.Second {
		t.Errorf("registrations took %s with OnEvent blocked", time.Since(start))
	}
	close(release)
	// The two events kept are delivered before Close emits its own.
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		mu.Lock()
		n := len(got)
		mu.Unlock()
		if n >= 2 || (n == 1 && time.Since(start) > time.Second) {
			break
		}
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	// A target switch, a registration, two refreshes and the
	// unregistration were emitted; the buffer of one lost some of them.
	if n := len(got); n < 2 || n > 3 || got[0] != client.EventTargetSwitched || got[n-1] != client.EventUnregistered ||
		(n == 3 && got[1] != client.EventRegistered) {
		t.Errorf("delivered %v", got)
	}
}

// TestNoTokenInLogs: the debug log of a registration with a refused token
// and a renewed one holds neither token nor the refresh token.
func TestNoTokenInLogs(t *testing.T) {
	t.Parallel()
	l := newLab(t, labOptions{})
	var buf syncbuf.Buffer
	expired := l.mint(issuer.TokenRequest{User: "rado", Device: "CSFrado", TTL: -time.Hour})
	refresh := l.refreshToken("rado")
	src, _ := client.NewRefreshTokenSource(client.RefreshConfig{TokenURL: l.tokenURL, RefreshToken: refresh,
		Token: &client.Token{AccessToken: expired, Expiry: time.Now().Add(time.Hour)}})
	c, err := client.New(client.Config{
		DeviceName: "CSFrado", Device: deviceFile(t, closedPort(t), l.addr), TLSConfig: l.tlsConfig(), Tokens: src,
		Logger: slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug})),
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Register(ctx(t, 10*time.Second)); err != nil {
		t.Fatal(err)
	}
	c.Close()
	fresh, _ := src.Token(ctx(t, time.Second))
	logs := buf.String()
	if !strings.Contains(logs, "token refused") || !strings.Contains(logs, "unregistered") {
		t.Fatalf("logs:\n%s", logs)
	}
	for _, secret := range []string{expired, fresh.AccessToken, refresh} {
		if strings.Contains(logs, secret) || strings.Contains(logs, secret[len(secret)-20:]) {
			t.Fatalf("a token is in the logs:\n%s", logs)
		}
	}
}

// newClient returns a client of cfg, closed when the test ends.
func newClient(t *testing.T, cfg client.Config) *client.Client {
	t.Helper()
	c, err := client.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}
