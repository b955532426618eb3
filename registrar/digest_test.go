package registrar

import (
	"context"
	"crypto"
	"crypto/md5"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"maps"
	"net"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
	"github.com/icholy/digest"

	"github.com/sipoauth/sdk/issuer"
	"github.com/sipoauth/sdk/sipoauth"
)

func hexMD5(s string) string    { h := md5.Sum([]byte(s)); return hex.EncodeToString(h[:]) }
func hexSHA256(s string) string { h := sha256.Sum256([]byte(s)); return hex.EncodeToString(h[:]) }

// digestDevices are the legacy devices of the Digest tests; their
// passwords are the owner's name with "-secret".
func digestDevices() MemoryDevices {
	return MemoryDevices{
		"SEPrado":  {Name: "SEPrado", Owner: "rado", Digest: &DigestSecret{Password: "rado-secret"}},
		"SEPalice": {Name: "SEPalice", Owner: "alice", Digest: &DigestSecret{Password: "alice-secret"}},
		// Its digest user differs from its owner: the identity is the owner.
		"SEPdesk": {Name: "SEPdesk", Owner: "rado", Digest: &DigestSecret{User: "rado-desk", Password: "desk-secret"}},
		// HA1 values only, computed for the default realm.
		"SEPha1": {Name: "SEPha1", Owner: "rado", Digest: &DigestSecret{
			HA1MD5:    hexMD5("rado:ccmsipline:ha1-secret"),
			HA1SHA256: strings.ToUpper(hexSHA256("rado:ccmsipline:ha1-secret")),
		}},
		"SEPmd5only":  {Name: "SEPmd5only", Owner: "rado", Digest: &DigestSecret{HA1MD5: hexMD5("rado:ccmsipline:md5-secret")}},
		"SEPnosecret": {Name: "SEPnosecret", Owner: "rado"},
		// An OAuth device that also has a Digest secret: still refused.
		"CSFrado": {Name: "CSFrado", Owner: "rado", OAuth: true, Digest: &DigestSecret{Password: "rado-secret"}},
	}
}

// digestLab is a registrar on plain TCP on 127.0.0.1 whose only port has
// the legacy role, with DigestAuth in the default pipeline, and a sipgo
// client for it.
type digestLab struct {
	auth  *DigestAuth
	store *MemoryStore
	addr  string
	skew  atomic.Int64 // added to the DigestAuth's clock
	c     *sipgo.Client

	mu      sync.Mutex
	reasons []string
	aor     string // of the last REGISTER
}

// newDigestLab starts the lab. Without the port check the pipeline lets
// an OAuth device reach DigestAuth, which must refuse it on its own.
func newDigestLab(t *testing.T, portCheck bool) *digestLab {
	t.Helper()
	d := &digestLab{store: NewMemoryStore()}
	d.auth = &DigestAuth{Now: func() time.Time { return time.Now().Add(time.Duration(d.skew.Load())) }}
	iss, err := issuer.New(issuer.Config{})
	if err != nil {
		t.Fatal(err)
	}
	keys, _ := sipoauth.NewStaticKeys(map[string]crypto.PublicKey{iss.KeyID(): iss.PublicKey()})
	v, err := sipoauth.New(sipoauth.Config{Keys: keys})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	d.addr = ln.Addr().String()
	reg, err := New(Config{NodeName: "UCM2-PUB", Devices: digestDevices(), Validator: v, Store: d.store,
		Ports: Ports{ln.Addr().(*net.TCPAddr).Port: RoleLegacy}})
	if err != nil {
		t.Fatal(err)
	}
	var pipeline []Step
	found := false
	for _, s := range reg.Pipeline {
		switch s := s.(type) {
		case Authenticate:
			byRole := maps.Clone(s.ByRole)
			byRole[RoleLegacy] = d.auth
			pipeline = append(pipeline, Authenticate{ByRole: byRole})
			found = true
			continue
		case PortCheck:
			if !portCheck {
				continue
			}
		}
		pipeline = append(pipeline, s)
	}
	if !found {
		t.Fatal("the default pipeline has no Authenticate step")
	}
	reg.Pipeline = pipeline
	reg.Observer = ObserverFunc(func(r *Request, _ int, _ time.Duration) {
		d.mu.Lock()
		d.reasons = append(d.reasons, r.Reason.String())
		d.aor = r.AOR
		d.mu.Unlock()
	})

	go serve(t, reg).ServeTCP(ln)
	cua, err := sipgo.NewUA(sipgo.WithUserAgent("Cisco-CP8865"))
	if err != nil {
		t.Fatal(err)
	}
	if d.c, err = sipgo.NewClient(cua, sipgo.WithClientHostname("127.0.0.1")); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.c.Close(); cua.Close(); ln.Close() })
	return d
}

// lastReason is the Reason the registrar recorded for the last REGISTER.
func (d *digestLab) lastReason() string {
	d.mu.Lock()
	defer d.mu.Unlock()
	if len(d.reasons) == 0 {
		return ""
	}
	return d.reasons[len(d.reasons)-1]
}

// bindings are those of the last REGISTER's address of record.
func (d *digestLab) bindings(t *testing.T) []Binding {
	t.Helper()
	d.mu.Lock()
	aor := d.aor
	d.mu.Unlock()
	bs, err := d.store.Lookup(context.Background(), aor)
	if err != nil {
		t.Fatal(err)
	}
	return bs
}

// register is a phone's first REGISTER for its owner's AOR.
func (d *digestLab) register(device, owner string) *sip.Request {
	var ruri sip.Uri
	_ = sip.ParseUri("sip:"+d.addr+";transport=tcp", &ruri)
	req := sip.NewRequest(sip.REGISTER, ruri)
	req.SetTransport("TCP")
	req.AppendHeader(sip.NewHeader("To", "<sip:"+owner+"@127.0.0.1>"))
	req.AppendHeader(sip.NewHeader("From", "<sip:"+owner+"@127.0.0.1>;tag=5eff"))
	req.AppendHeader(sip.NewHeader("Contact", `<sip:`+device+`@127.0.0.1:5060;transport=tcp>;+u.sip!devicename.ccm.cisco.com="`+device+`"`))
	req.AppendHeader(sip.NewHeader("Expires", "3600"))
	return req
}

// send sends req, or for a retry a copy with the next CSeq, a new branch
// and the given Authorization ("" for none); it returns the answer and
// the request sent.
func (d *digestLab) send(t *testing.T, req *sip.Request, retry bool, authorization string) (*sip.Response, *sip.Request) {
	t.Helper()
	opts := []sipgo.ClientRequestOption{sipgo.ClientRequestRegisterBuild}
	if retry {
		req = req.Clone()
		req.RemoveHeader("Via")
		req.RemoveHeader("Authorization")
		opts = []sipgo.ClientRequestOption{sipgo.ClientRequestIncreaseCSEQ, sipgo.ClientRequestAddVia}
	}
	if authorization != "" {
		req.AppendHeader(sip.NewHeader("Authorization", authorization))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	res, err := d.c.Do(ctx, req, opts...)
	if err != nil {
		t.Fatalf("REGISTER: %v", err)
	}
	return res, req
}

// challenges returns the WWW-Authenticate values of a response.
func challenges(res *sip.Response) []string {
	var vs []string
	for _, h := range res.GetHeaders("WWW-Authenticate") {
		vs = append(vs, h.Value())
	}
	return vs
}

var nonceParam = regexp.MustCompile(`nonce="([A-Za-z0-9_-]{43})"`)

// wantChallenges checks a 401's challenges, exactly, nonce aside, and
// returns the nonce, the same in all of them.
func wantChallenges(t *testing.T, res *sip.Response, stale bool, algs ...string) string {
	t.Helper()
	if res.StatusCode != 401 || res.Reason != "Unauthorized" {
		t.Fatalf("want 401 Unauthorized, got\n%s", res)
	}
	got := challenges(res)
	if len(got) != len(algs) {
		t.Fatalf("challenges %q, want %d", got, len(algs))
	}
	var nonce string
	for i, alg := range algs {
		m := nonceParam.FindStringSubmatch(got[i])
		if m == nil {
			t.Fatalf("no nonce in %q", got[i])
		}
		if i == 0 {
			nonce = m[1]
		} else if m[1] != nonce {
			t.Fatalf("challenges with different nonces: %q", got)
		}
		want := `Digest realm="ccmsipline", nonce="` + nonce + `", algorithm=` + alg + `, qop="auth"`
		if stale {
			want = `Digest realm="ccmsipline", nonce="` + nonce + `", stale=true, algorithm=` + alg + `, qop="auth"`
		}
		if got[i] != want {
			t.Fatalf("challenge %d:\n got %s\nwant %s", i, got[i], want)
		}
	}
	return nonce
}

// answer is a phone's Authorization for a challenge of a response.
func answer(t *testing.T, res *sip.Response, alg string, req *sip.Request, user, password string, nc int) string {
	t.Helper()
	for _, v := range challenges(res) {
		chal, err := digest.ParseChallenge(v)
		if err != nil {
			t.Fatal(err)
		}
		if chal.Algorithm != alg {
			continue
		}
		cred, err := digest.Digest(chal, digest.Options{Method: string(req.Method), URI: req.Recipient.String(), Username: user, Password: password, Count: nc})
		if err != nil {
			t.Fatal(err)
		}
		return cred.String()
	}
	t.Fatalf("no %s challenge in\n%s", alg, res)
	return ""
}

func TestDigestRegister(t *testing.T) {
	t.Parallel()
	d := newDigestLab(t, true)
	for _, alg := range []string{DigestSHA256, DigestMD5} {
		t.Run(alg, func(t *testing.T) {
			req := d.register("SEPrado", "rado")
			res, req := d.send(t, req, false, "")
			wantChallenges(t, res, false, DigestSHA256, DigestMD5)
			if d.lastReason() != "no-credentials" {
				t.Fatalf("reason %q", d.lastReason())
			}
			auth := answer(t, res, alg, req, "rado", "rado-secret", 1)
			if !strings.Contains(auth, "algorithm="+alg+",") || !strings.Contains(auth, "qop=auth, nc=00000001") {
				t.Fatalf("Authorization %s", auth)
			}
			ok, req := d.send(t, req, true, auth)
			if ok.StatusCode != 200 || header(ok, "Expires") != "120" || d.lastReason() != "registered" {
				t.Fatalf("%s\n%s", d.lastReason(), ok)
			}
			bs := d.bindings(t)
			if len(bs) != 1 || bs[0].User != "rado" || bs[0].Device != "SEPrado" {
				t.Fatalf("bindings %+v", bs)
			}
			// A refresh reuses the nonce with the next nc, as phones do.
			ok, _ = d.send(t, req, true, answer(t, res, alg, req, "rado", "rado-secret", 2))
			if ok.StatusCode != 200 {
				t.Fatalf("refresh with nc=2:\n%s", ok)
			}
		})
	}
}

func TestDigestRefusals(t *testing.T) {
	t.Parallel()
	d := newDigestLab(t, true)

	t.Run("wrong password", func(t *testing.T) {
		res, req := d.send(t, d.register("SEPrado", "rado"), false, "")
		first := wantChallenges(t, res, false, DigestSHA256, DigestMD5)
		res, _ = d.send(t, req, true, answer(t, res, DigestSHA256, req, "rado", "guess", 1))
		if again := wantChallenges(t, res, false, DigestSHA256, DigestMD5); again == first {
			t.Fatal("the same nonce again")
		}
		if d.lastReason() != "digest-failed" {
			t.Fatalf("reason %q", d.lastReason())
		}
	})

	t.Run("replay", func(t *testing.T) {
		res, req := d.send(t, d.register("SEPrado", "rado"), false, "")
		auth := answer(t, res, DigestSHA256, req, "rado", "rado-secret", 1)
		ok, req := d.send(t, req, true, auth)
		if ok.StatusCode != 200 {
			t.Fatalf("first use:\n%s", ok)
		}
		res, req = d.send(t, req, true, auth)
		wantChallenges(t, res, false, DigestSHA256, DigestMD5)
		if d.lastReason() != "digest-replay" {
			t.Fatalf("reason %q", d.lastReason())
		}
		// The new challenge's nonce starts its own count.
		res, _ = d.send(t, req, true, answer(t, res, DigestSHA256, req, "rado", "rado-secret", 1))
		if res.StatusCode != 200 {
			t.Fatalf("fresh nonce:\n%s", res)
		}
	})

	t.Run("expired nonce", func(t *testing.T) {
		t.Cleanup(func() { d.skew.Store(0) })
		res, req := d.send(t, d.register("SEPrado", "rado"), false, "")
		d.skew.Store(int64(DefaultNonceTTL + time.Second))
		// A wrong response under an expired nonce is not stale.
		wrong, _ := d.send(t, req, true, answer(t, res, DigestSHA256, req, "rado", "guess", 1))
		wantChallenges(t, wrong, false, DigestSHA256, DigestMD5)
		if d.lastReason() != "digest-failed" {
			t.Fatalf("reason %q", d.lastReason())
		}
		stale, _ := d.send(t, req, true, answer(t, res, DigestSHA256, req, "rado", "rado-secret", 1))
		wantChallenges(t, stale, true, DigestSHA256, DigestMD5)
		if d.lastReason() != "digest-stale" {
			t.Fatalf("reason %q", d.lastReason())
		}
		ok, _ := d.send(t, req, true, answer(t, stale, DigestSHA256, req, "rado", "rado-secret", 1))
		if ok.StatusCode != 200 {
			t.Fatalf("after stale:\n%s", ok)
		}
	})

	t.Run("another user", func(t *testing.T) {
		res, req := d.send(t, d.register("SEPrado", "rado"), false, "")
		res, _ = d.send(t, req, true, answer(t, res, DigestSHA256, req, "alice", "alice-secret", 1))
		wantChallenges(t, res, false, DigestSHA256, DigestMD5)
		if d.lastReason() != "digest-user" {
			t.Fatalf("reason %q", d.lastReason())
		}
	})

	t.Run("no secret", func(t *testing.T) {
		res, _ := d.send(t, d.register("SEPnosecret", "rado"), false, "")
		if res.StatusCode != 403 || len(challenges(res)) != 0 || d.lastReason() != "digest-no-secret" {
			t.Fatalf("%s\n%s", d.lastReason(), res)
		}
	})

	t.Run("OAuth device, port check first", func(t *testing.T) {
		res, _ := d.send(t, d.register("CSFrado", "rado"), false, "")
		if res.StatusCode != 403 || header(res, "Warning") != `399 UCM2-PUB "SIP OAuth Registration port Mismatch"` || len(challenges(res)) != 0 {
			t.Fatalf("%s\n%s", d.lastReason(), res)
		}
	})
}

// TestDigestOAuthDevice: DigestAuth refuses an OAuth device with a correct
// response even where no port check stands before it.
func TestDigestOAuthDevice(t *testing.T) {
	t.Parallel()
	d := newDigestLab(t, false)
	res, req := d.send(t, d.register("CSFrado", "rado"), false, "")
	if res.StatusCode != 403 || len(challenges(res)) != 0 || d.lastReason() != "digest-oauth-device" {
		t.Fatalf("%s\n%s", d.lastReason(), res)
	}
	// A correct response to a challenge issued for another device.
	ch, _ := d.send(t, d.register("SEPrado", "rado"), false, "")
	res, _ = d.send(t, req, true, answer(t, ch, DigestSHA256, req, "rado", "rado-secret", 1))
	if res.StatusCode != 403 || d.lastReason() != "digest-oauth-device" {
		t.Fatalf("%s\n%s", d.lastReason(), res)
	}
	if bs := d.bindings(t); len(bs) != 0 {
		t.Fatalf("bindings %+v", bs)
	}
}

func TestDigestSecrets(t *testing.T) {
	t.Parallel()
	d := newDigestLab(t, true)
	for _, tc := range []struct {
		name, device, user, password string
		algs                         []string // offered
		alg                          string   // answered
	}{
		{"HA1 SHA-256", "SEPha1", "rado", "ha1-secret", []string{DigestSHA256, DigestMD5}, DigestSHA256},
		{"HA1 MD5", "SEPha1", "rado", "ha1-secret", []string{DigestSHA256, DigestMD5}, DigestMD5},
		{"HA1 MD5 only", "SEPmd5only", "rado", "md5-secret", []string{DigestMD5}, DigestMD5},
		{"digest user not the owner", "SEPdesk", "rado-desk", "desk-secret", []string{DigestSHA256, DigestMD5}, DigestSHA256},
		{"user in another case", "SEPrado", "RADO", "rado-secret", []string{DigestSHA256, DigestMD5}, DigestSHA256},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, req := d.send(t, d.register(tc.device, "rado"), false, "")
			wantChallenges(t, res, false, tc.algs...)
			res, _ = d.send(t, req, true, answer(t, res, tc.alg, req, tc.user, tc.password, 1))
			if res.StatusCode != 200 {
				t.Fatalf("%s\n%s", d.lastReason(), res)
			}
			bs := d.bindings(t)
			if len(bs) == 0 || bs[0].User != "rado" {
				t.Fatalf("bindings %+v", bs)
			}
		})
	}
}

// digestRequest is a REGISTER for SEPrado as read off the wire, with the
// given Authorization values.
func digestRequest(t testing.TB, auths ...string) *Request {
	t.Helper()
	raw := "REGISTER sip:10.10.10.1;transport=tcp SIP/2.0\r\n" +
		"Via: SIP/2.0/TCP 10.10.10.10:5060;branch=z9hG4bK1\r\n" +
		"From: <sip:rado@10.10.10.1>;tag=1\r\nTo: <sip:rado@10.10.10.1>\r\nCall-ID: 1@10.10.10.10\r\nCSeq: 2 REGISTER\r\n" +
		`Contact: <sip:rado@10.10.10.10:5060;transport=tcp>;+u.sip!devicename.ccm.cisco.com="SEPrado"` + "\r\n" +
		"Expires: 3600\r\nContent-Length: 0\r\n\r\n"
	msg, err := sip.ParseMessage([]byte(raw))
	if err != nil {
		t.Fatal(err)
	}
	req := msg.(*sip.Request)
	for _, a := range auths {
		req.AppendHeader(sip.NewHeader("Authorization", a))
	}
	dev := digestDevices()["SEPrado"]
	return &Request{SIP: req, Role: RoleLegacy, DeviceName: dev.Name, Device: dev}
}

// digestAnswer is rado's Authorization for nonce, with some changes.
func digestAnswer(t testing.TB, nonce, alg, password string, nc int, edit func(*digest.Credentials)) string {
	t.Helper()
	chal := &digest.Challenge{Realm: "ccmsipline", Nonce: nonce, Algorithm: alg, QOP: []string{"auth"}}
	cred, err := digest.Digest(chal, digest.Options{Method: "REGISTER", URI: "sip:10.10.10.1;transport=tcp", Username: "rado", Password: password, Count: nc, Cnonce: "0a4f113b"})
	if err != nil {
		t.Fatal(err)
	}
	if edit != nil {
		edit(cred)
	}
	return cred.String()
}

// TestDigestCredentials: each kind of bad Authorization gets its answer
// and its reason.
func TestDigestCredentials(t *testing.T) {
	t.Parallel()
	a := &DigestAuth{Now: func() time.Time { return t0 }, Key: []byte("0123456789abcdef")}
	nonce := func() string { a.once.Do(a.init); return a.codec.seal(t0) }
	good := func(edit func(*digest.Credentials)) string {
		return digestAnswer(t, nonce(), DigestSHA256, "rado-secret", 1, edit)
	}
	other := &DigestAuth{Key: []byte("fedcba9876543210")}
	other.once.Do(other.init)
	for _, tc := range []struct {
		name   string
		auths  []string
		status int
		reason string
	}{
		{"good", []string{good(nil)}, 200, ""},
		{"upper-case response", []string{good(func(c *digest.Credentials) { c.Response = strings.ToUpper(c.Response) })}, 200, ""},
		{"bearer only", []string{"Bearer abc"}, 401, "no-credentials"},
		{"other realm", []string{good(func(c *digest.Credentials) { c.Realm = "example.com" })}, 401, "digest-realm"},
		{"other realm besides ours", []string{good(func(c *digest.Credentials) { c.Realm = "example.com" }), good(nil)}, 200, ""},
		{"two for the realm", []string{good(nil), good(nil)}, 400, "duplicate-credentials"},
		{"unparsable", []string{`Digest username="rado", realm="ccmsipline", nonce="x`}, 400, "malformed-credentials"},
		{"bad nc", []string{strings.Replace(good(nil), "nc=00000001", "nc=zz", 1)}, 400, "malformed-credentials"},
		{"negative nc", []string{strings.Replace(good(nil), "nc=00000001", "nc=-1", 1)}, 400, "malformed-credentials"},
		{"no cnonce", []string{good(func(c *digest.Credentials) { c.Cnonce = "" })}, 400, "malformed-credentials"},
		{"no response", []string{good(func(c *digest.Credentials) { c.Response = "" })}, 400, "malformed-credentials"},
		{"no username", []string{good(func(c *digest.Credentials) { c.Username = "" })}, 400, "malformed-credentials"},
		{"uri not the Request-URI", []string{good(func(c *digest.Credentials) { c.URI = "sip:10.10.10.2;transport=tcp" })}, 400, "digest-uri"},
		{"no qop (RFC 2069)", []string{good(func(c *digest.Credentials) { c.QOP = "" })}, 401, "digest-qop"},
		{"qop auth-int", []string{good(func(c *digest.Credentials) { c.QOP = "auth-int" })}, 401, "digest-qop"},
		{"userhash", []string{good(func(c *digest.Credentials) { c.Userhash = true })}, 401, "digest-user"},
		{"algorithm SHA-512", []string{good(func(c *digest.Credentials) { c.Algorithm = "SHA-512" })}, 401, "digest-algorithm"},
		{"algorithm MD5-sess", []string{good(func(c *digest.Credentials) { c.Algorithm = "MD5-sess" })}, 401, "digest-algorithm"},
		{"MD5 without algorithm", []string{digestAnswer(t, nonce(), "", "rado-secret", 1, nil)}, 200, ""},
		{"forged nonce", []string{digestAnswer(t, strings.Repeat("A", 43), DigestSHA256, "rado-secret", 1, nil)}, 401, "digest-nonce"},
		{"nonce of another key", []string{digestAnswer(t, other.codec.seal(t0), DigestSHA256, "rado-secret", 1, nil)}, 401, "digest-nonce"},
		{"wrong response", []string{good(func(c *digest.Credentials) { c.Response = hexSHA256("x") })}, 401, "digest-failed"},
		{"response for another method", []string{good(func(c *digest.Credentials) {
			o, _ := digest.Digest(&digest.Challenge{Realm: c.Realm, Nonce: c.Nonce, Algorithm: c.Algorithm, QOP: []string{"auth"}},
				digest.Options{Method: "INVITE", URI: c.URI, Username: "rado", Password: "rado-secret", Count: 1, Cnonce: c.Cnonce})
			c.Response = o.Response
		})}, 401, "digest-failed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := digestRequest(t, tc.auths...)
			id, res := a.Authenticate(context.Background(), r)
			status := 200
			if res != nil {
				status = res.StatusCode
			}
			if status != tc.status || r.Reason.String() != tc.reason {
				t.Fatalf("%d %q, want %d %q\n%v", status, r.Reason, tc.status, tc.reason, res)
			}
			if status == 200 && (id == nil || id.User != "rado") {
				t.Fatalf("identity %+v", id)
			}
			if status == 401 && len(challenges(res)) != 2 {
				t.Fatalf("challenges %q", challenges(res))
			}
			if res == nil {
				return
			}
			for _, h := range res.Headers() {
				if strings.Contains(h.Value(), "rado-secret") || strings.Contains(h.Value(), hexSHA256("rado:ccmsipline:rado-secret")) {
					t.Fatalf("secret in %s", h)
				}
			}
		})
	}
}

// TestDigestSharedKey: nodes with the same Key accept each other's nonces;
// nc is tracked per node.
func TestDigestSharedKey(t *testing.T) {
	t.Parallel()
	key := []byte("a key shared by the cluster nodes")
	now := func() time.Time { return t0 }
	node1, node2 := &DigestAuth{Key: key, Now: now}, &DigestAuth{Key: key, Now: now}
	r := digestRequest(t)
	_, res := node1.Authenticate(context.Background(), r)
	n := wantChallenges(t, res, false, DigestSHA256, DigestMD5)
	for i, a := range []*DigestAuth{node2, node1} {
		r := digestRequest(t, digestAnswer(t, n, DigestMD5, "rado-secret", 1, nil))
		if id, res := a.Authenticate(context.Background(), r); id == nil {
			t.Fatalf("node %d: %s\n%v", 2-i, r.Reason, res)
		}
	}
	foreign := &DigestAuth{Key: []byte("another cluster's key!"), Now: now}
	r = digestRequest(t, digestAnswer(t, n, DigestMD5, "rado-secret", 2, nil))
	if _, res := foreign.Authenticate(context.Background(), r); res == nil || res.StatusCode != 401 || r.Reason != "digest-nonce" {
		t.Fatalf("%s %v", r.Reason, res)
	}
}

// TestDigestMaxNonces: with the table full of valid nonces, a new nonce is
// challenged again, not accepted untracked; room comes back as they expire.
func TestDigestMaxNonces(t *testing.T) {
	t.Parallel()
	var now atomic.Int64
	now.Store(t0.UnixNano())
	a := &DigestAuth{MaxNonces: 2, NonceTTL: time.Minute, Now: func() time.Time { return time.Unix(0, now.Load()) }}
	try := func() *Request {
		r := digestRequest(t)
		_, res := a.Authenticate(context.Background(), r)
		n := wantChallenges(t, res, false, DigestSHA256, DigestMD5)
		r = digestRequest(t, digestAnswer(t, n, DigestSHA256, "rado-secret", 1, nil))
		a.Authenticate(context.Background(), r)
		return r
	}
	for i := range 2 {
		if r := try(); r.Reason != "" {
			t.Fatalf("nonce %d: %s", i, r.Reason)
		}
	}
	if r := try(); r.Reason != "digest-nonces-full" {
		t.Fatalf("third nonce: %q", r.Reason)
	}
	now.Add(int64(time.Minute + time.Second))
	if r := try(); r.Reason != "" {
		t.Fatalf("after expiry: %s", r.Reason)
	}
}

func TestDigestConfig(t *testing.T) {
	t.Parallel()
	for _, a := range []*DigestAuth{
		{Algorithms: []string{"SHA-512"}},
		{Algorithms: []string{"MD5-sess"}},
		{Key: []byte("short")},
		{Realm: "bad\nrealm"},
	} {
		r := digestRequest(t)
		if _, res := a.Authenticate(context.Background(), r); res == nil || res.StatusCode != 500 || r.Reason != "digest-config" {
			t.Fatalf("%+v: %v", a, res)
		}
	}
	// Algorithms in the order given, names in any case.
	a := &DigestAuth{Algorithms: []string{"md5", "sha-256"}, Realm: "ccmsipline"}
	_, res := a.Authenticate(context.Background(), digestRequest(t))
	wantChallenges(t, res, false, DigestMD5, DigestSHA256)
}

func TestDigestNonceCodec(t *testing.T) {
	t.Parallel()
	c := nonceCodec{key: []byte("0123456789abcdef"), realm: "ccmsipline"}
	n := c.seal(t0)
	if len(n) != nonceLen || n == c.seal(t0) {
		t.Fatalf("nonce %q", n)
	}
	info, err := c.open(n, t0.Add(time.Minute), 5*time.Minute)
	if err != nil || !info.issued.Equal(t0) {
		t.Fatalf("%v %v", info.issued, err)
	}
	raw, _ := base64.RawURLEncoding.DecodeString(n)
	tamper := func(i int) string {
		b := append([]byte(nil), raw...)
		b[i] ^= 1
		return base64.RawURLEncoding.EncodeToString(b)
	}
	for _, tc := range []struct {
		name  string
		nonce string
		codec nonceCodec
		now   time.Time
		err   error
	}{
		{"fresh", n, c, t0.Add(5 * time.Minute), nil},
		{"a little early (clock skew)", n, c, t0.Add(-time.Minute), nil},
		{"expired", n, c, t0.Add(5*time.Minute + 1), errNonceExpired},
		{"far in the future", n, c, t0.Add(-6 * time.Minute), errNonceExpired},
		{"time tampered", tamper(3), c, t0, errNonceForged},
		{"random tampered", tamper(10), c, t0, errNonceForged},
		{"mac tampered", tamper(31), c, t0, errNonceForged},
		{"wrong key", n, nonceCodec{key: []byte("fedcba9876543210"), realm: "ccmsipline"}, t0, errNonceForged},
		{"other realm", n, nonceCodec{key: c.key, realm: "example.com"}, t0, errNonceForged},
		{"truncated", n[:42], c, t0, errNonceMalformed},
		{"extended", n + "A", c, t0, errNonceMalformed},
		{"not base64url", strings.Repeat("+", 43), c, t0, errNonceMalformed},
		{"empty", "", c, t0, errNonceMalformed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			info, err := tc.codec.open(tc.nonce, tc.now, 5*time.Minute)
			if !errors.Is(err, tc.err) && !(err == nil && tc.err == nil) {
				t.Fatalf("err %v, want %v", err, tc.err)
			}
			if (err == nil || errors.Is(err, errNonceExpired)) && !info.issued.Equal(t0) {
				t.Fatalf("issued %v", info.issued)
			}
		})
	}
}

func TestDigestNonceCounts(t *testing.T) {
	t.Parallel()
	c := newNonceCounts(2)
	id := func(b byte) [16]byte { return [16]byte{b} }
	steps := []struct {
		id       byte
		nc       uint32
		expires  int64
		now      int64
		want     countResult
		comment  string
		tracking int
	}{
		{1, 1, 100, 0, countOK, "new", 1},
		{1, 1, 100, 1, countReplay, "same nc", 1},
		{1, 2, 100, 2, countOK, "next nc", 1},
		{1, 1, 100, 3, countReplay, "lower nc", 1},
		{2, 5, 200, 4, countOK, "second nonce", 2},
		{3, 1, 300, 5, countFull, "full", 2},
		{3, 1, 300, 100, countOK, "room after the first expired", 2},
		{1, 3, 100, 101, countForgotten, "the clock went back: dropped count", 2},
	}
	for _, s := range steps {
		if got := c.advance(id(s.id), s.nc, s.expires, s.now); got != s.want || len(c.last) != s.tracking || len(c.expiry) != s.tracking {
			t.Fatalf("%s: %d (tracking %d), want %d (%d)", s.comment, got, len(c.last), s.want, s.tracking)
		}
	}
}

// TestDigestConcurrent: many devices' registrations at once, each with
// its own nonce, for the race detector.
func TestDigestConcurrent(t *testing.T) {
	t.Parallel()
	a := &DigestAuth{}
	var wg sync.WaitGroup
	var failed atomic.Int32
	for range 16 {
		wg.Go(func() {
			for range 20 {
				_, res := a.Authenticate(context.Background(), digestRequest(t))
				n := nonceParam.FindStringSubmatch(challenges(res)[0])[1]
				r := digestRequest(t, digestAnswer(t, n, DigestSHA256, "rado-secret", 1, nil))
				if id, _ := a.Authenticate(context.Background(), r); id == nil {
					failed.Add(1)
				}
			}
		})
	}
	wg.Wait()
	if failed.Load() != 0 {
		t.Fatalf("%d failed", failed.Load())
	}
}

// FuzzDigestAuthorization feeds Authorization values to DigestAuth: it
// must answer 400, 401 or 403, or authenticate rado, and never panic.
func FuzzDigestAuthorization(f *testing.F) {
	a := &DigestAuth{Now: func() time.Time { return t0 }, Key: []byte("0123456789abcdef"), MaxNonces: 64}
	a.once.Do(a.init)
	n := a.codec.seal(t0)
	for _, s := range []string{
		digestAnswer(f, n, DigestSHA256, "rado-secret", 1, nil),
		digestAnswer(f, n, DigestMD5, "rado-secret", 7, nil),
		digestAnswer(f, n, "", "rado-secret", 2, nil),
		digestAnswer(f, n, DigestSHA256, "guess", 1, nil),
		digestAnswer(f, n, DigestSHA256, "rado-secret", 1, func(c *digest.Credentials) { c.Realm = "x" }),
		`Digest username="rado", realm="ccmsipline", nonce="` + n + `", uri="sip:10.10.10.1;transport=tcp", response="00"`,
		`Digest username="rado", realm="ccmsipline", nonce="x`,
		`Digest nc=ffffffff`,
		`Digest realm="ccmsipline", realm="ccmsipline"`,
		`Digest  ,`,
		"Bearer abc",
		"",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		r := digestRequest(t, v)
		id, res := a.Authenticate(context.Background(), r)
		switch {
		case res == nil:
			if id == nil || id.User != "rado" {
				t.Fatalf("no answer and identity %+v for %q", id, v)
			}
		case res.StatusCode == 401:
			if len(challenges(res)) != 2 || r.Reason == "" {
				t.Fatalf("401 with %q, reason %q", challenges(res), r.Reason)
			}
		case res.StatusCode == 400 || res.StatusCode == 403:
		default:
			t.Fatalf("%d for %q", res.StatusCode, v)
		}
		a.counts.mu.Lock()
		tracked := len(a.counts.last)
		a.counts.mu.Unlock()
		if tracked > 64 {
			t.Fatal("unbounded counts")
		}
	})
}

// BenchmarkDigestAuthenticate: a refresh under a known nonce, the
// client's computation of its answer included.
func BenchmarkDigestAuthenticate(b *testing.B) {
	a := &DigestAuth{MaxNonces: 1 << 20}
	_, res := a.Authenticate(context.Background(), digestRequest(b))
	n := nonceParam.FindStringSubmatch(challenges(res)[0])[1]
	b.ReportAllocs()
	nc := 0
	for b.Loop() {
		nc++
		r := digestRequest(b, digestAnswer(b, n, DigestSHA256, "rado-secret", nc, nil))
		if id, _ := a.Authenticate(context.Background(), r); id == nil {
			b.Fatal(r.Reason)
		}
	}
}
