package main

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/sipoauth/sdk/bearer"
	"github.com/sipoauth/sdk/certcheck"
	"github.com/sipoauth/sdk/client"
	"github.com/sipoauth/sdk/diag"
	"github.com/sipoauth/sdk/inspect"
	"github.com/sipoauth/sdk/internal/sipstream"
	"github.com/sipoauth/sdk/mtlstrust"
	"github.com/sipoauth/sdk/ucm"
)

// Finding codes of probe, beside certcheck's certificate codes, mtlstrust's
// handshake codes and client's port-mismatch causes; stable across releases.
const (
	CodeConnectFailed          = "connect-failed"
	CodeNoSIPAnswer            = "no-sip-answer"
	CodeNoBearerChallenge      = "no-bearer-challenge"
	CodeRegisteredWithoutToken = "registered-without-token"
	CodeRegisterRefused        = "register-refused"
)

// Defaults of probe.
const (
	defaultProbeDevice  = "CSFprobe"
	defaultProbeUser    = "probe"
	defaultProbeTimeout = 5 * time.Second
	probeExpires        = 3600 // what Jabber asks for
	// maxAnswer bounds the bytes read while waiting for the REGISTER's
	// final answer.
	maxAnswer = 64 << 10
)

// probeReport is the JSON of probe.
type probeReport struct {
	Address    string `json:"address"`
	ServerName string `json:"serverName"`
	// ClientCertificate is true when the probe presented a certificate.
	ClientCertificate bool `json:"clientCertificate"`
	// Handshake is "ok", "failed", or "not attempted" when the TCP
	// connection failed.
	Handshake   string `json:"handshake"`
	TLSVersion  string `json:"tlsVersion,omitempty"`
	CipherSuite string `json:"cipherSuite,omitempty"`
	// Verified says whether the server's chain verified for ServerName
	// against TrustedBy: the --ca file, or the system roots. A server may
	// still refuse the probe's certificate after that.
	Verified    bool   `json:"verified"`
	TrustedBy   string `json:"trustedBy"`
	VerifyError string `json:"verifyError,omitempty"`
	// Chain is what the server presented, leaf first.
	Chain     []inspect.CertView `json:"chain"`
	Diagnosis *diagnosisView     `json:"diagnosis,omitempty"`
	Register  *registerView      `json:"register,omitempty"`
	// Findings are the chain's, the handshake's diagnosis, and the
	// answer's, in that order.
	Findings diag.Findings `json:"findings"`
}

// diagnosisView is a failed handshake explained.
type diagnosisView struct {
	Scenario int    `json:"scenario,omitempty"`
	Alert    int    `json:"alert,omitempty"`
	Code     string `json:"code"`
	Message  string `json:"message"`
	Fix      string `json:"fix,omitempty"`
}

// registerView is the REGISTER sent and its answer.
type registerView struct {
	RequestURI string `json:"requestUri"`
	Device     string `json:"device"`
	User       string `json:"user"`
	Expires    int    `json:"expires"`
	Status     int    `json:"status,omitempty"`
	Reason     string `json:"reason,omitempty"`
	// Headers of the answer worth showing.
	Headers   map[string]string `json:"headers,omitempty"`
	Challenge *challengeView    `json:"challenge,omitempty"`
	// RetryAfter is in seconds.
	RetryAfter int `json:"retryAfter,omitempty"`
	// Scenario is 1 for the port mismatch.
	Scenario int `json:"scenario,omitempty"`
	// Error says why no answer came.
	Error string `json:"error,omitempty"`
}

// challengeView is the Bearer challenge of a 401 or 407.
type challengeView struct {
	Header      string `json:"header"`
	Value       string `json:"value"`
	Realm       string `json:"realm,omitempty"`
	Scope       string `json:"scope,omitempty"`
	AuthzServer string `json:"authzServer,omitempty"`
	Error       string `json:"error,omitempty"`
}

// shownHeaders are the answer's headers a probe prints.
var shownHeaders = []string{"Proxy-Authenticate", "WWW-Authenticate", "Warning", "Retry-After", "Expires", "Contact", "Server"}

func (e *env) probe(args []string) int {
	c := cmdProbe
	fs, asJSON := c.flags()
	caFile := fs.String("ca", "", "")
	certFile := fs.String("cert", "", "")
	keyFile := fs.String("key", "", "")
	name := fs.String("name", "", "")
	timeout := fs.Duration("timeout", defaultProbeTimeout, "")
	device := fs.String("device", defaultProbeDevice, "")
	user := fs.String("user", defaultProbeUser, "")
	pos, st, ok := e.parse(c, fs, args)
	if !ok {
		return st
	}
	if len(pos) != 1 {
		return e.usageError(c, "one HOST:PORT expected, got %d arguments", len(pos))
	}
	addr := pos[0]
	host, port, err := net.SplitHostPort(addr)
	if p, perr := strconv.Atoi(port); err != nil || perr != nil || p < 1 || p > 65535 || host == "" {
		return e.usageError(c, "%q is not HOST:PORT", addr)
	}
	switch {
	case (*certFile == "") != (*keyFile == ""):
		return e.usageError(c, "--cert and --key go together")
	case *timeout <= 0:
		return e.usageError(c, "--timeout must be positive")
	case *device == "" || *user == "":
		return e.usageError(c, "--device and --user must not be empty")
	}
	serverName := *name
	if serverName == "" {
		serverName = host
	}
	rep := &probeReport{Address: addr, ServerName: serverName, Handshake: "not attempted", Chain: []inspect.CertView{}, Findings: diag.Findings{}}

	var roots *x509.CertPool
	rep.TrustedBy = "system roots"
	if *caFile != "" {
		b, err := e.readInput(c, *caFile, mtlstrust.MaxFileSize)
		if err != nil {
			return e.inputError(c, err)
		}
		roots = x509.NewCertPool()
		if !roots.AppendCertsFromPEM(b) {
			// DER: one certificate or several one after the other.
			ders, err := x509.ParseCertificates(b)
			if err != nil || len(ders) == 0 {
				return e.inputError(c, fmt.Errorf("%s: no PEM or DER certificate", *caFile))
			}
			for _, cert := range ders {
				roots.AddCert(cert)
			}
		}
		rep.TrustedBy = *caFile
	} else if roots, err = x509.SystemCertPool(); err != nil {
		return e.inputError(c, fmt.Errorf("system roots: %w", err))
	}
	var clientCert *tls.Certificate
	if *certFile != "" {
		cert, err := tls.LoadX509KeyPair(*certFile, *keyFile)
		if err != nil {
			return e.inputError(c, err)
		}
		clientCert = &cert
	}

	e.runProbe(rep, probeParams{host: host, roots: roots, cert: clientCert, timeout: *timeout, device: *device, user: *user})
	if *asJSON {
		writeJSON(e.stdout, rep)
	} else {
		printProbe(e.stdout, rep)
	}
	return status(rep.Findings)
}

type probeParams struct {
	host    string
	roots   *x509.CertPool
	cert    *tls.Certificate
	timeout time.Duration
	device  string
	user    string
}

// runProbe connects, checks the chain and registers, filling rep.
func (e *env) runProbe(rep *probeReport, p probeParams) {
	ctx, cancel := context.WithTimeout(context.Background(), p.timeout)
	defer cancel()
	d := net.Dialer{}
	raw, err := d.DialContext(ctx, "tcp", rep.Address)
	if err != nil {
		rep.Findings = append(rep.Findings, diag.Finding{Code: CodeConnectFailed, Severity: diag.Error, Path: "tcp",
			Message: "cannot connect to " + rep.Address + ": " + err.Error(),
			Fix:     "check the address and port (sipOAuthPort 5090, sipMRAOAuthPort 5091), that the node listens on it, and that no firewall is in the way"})
		return
	}
	defer raw.Close()

	var chain []*x509.Certificate
	var verifyErr error
	cfg := &tls.Config{
		ServerName: rep.ServerName,
		MinVersion: tls.VersionTLS12,
		// Verification is done by hand in VerifyConnection, so that the
		// chain a server presents is kept, shown and checked even when it
		// does not verify.
		InsecureSkipVerify: true,
		VerifyConnection: func(cs tls.ConnectionState) error {
			chain = cs.PeerCertificates
			if len(chain) == 0 {
				verifyErr = errors.New("the server presented no certificate")
				return verifyErr
			}
			inter := x509.NewCertPool()
			for _, ic := range chain[1:] {
				inter.AddCert(ic)
			}
			_, verifyErr = chain[0].Verify(x509.VerifyOptions{
				Roots: p.roots, Intermediates: inter, DNSName: rep.ServerName,
				CurrentTime: e.now(), KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
			})
			if verifyErr != nil {
				return &tls.CertificateVerificationError{UnverifiedCertificates: chain, Err: verifyErr}
			}
			return nil
		},
	}
	if p.cert != nil {
		cert := p.cert
		cfg.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
			rep.ClientCertificate = true
			return cert, nil
		}
	}
	conn := tls.Client(raw, cfg)
	herr := conn.HandshakeContext(ctx)
	if len(chain) > 0 {
		e.checkChain(rep, chain, p.roots)
	}
	if herr != nil {
		rep.Handshake = "failed"
		if verifyErr != nil {
			rep.VerifyError = verifyErr.Error()
		}
		e.diagnose(rep, herr, p.cert != nil)
		return
	}
	rep.Handshake = "ok"
	rep.Verified = true
	cs := conn.ConnectionState()
	rep.TLSVersion = tls.VersionName(cs.Version)
	rep.CipherSuite = tls.CipherSuiteName(cs.CipherSuite)

	reg := &registerView{Device: p.device, User: p.user, Expires: probeExpires}
	rep.Register = reg
	req, err := buildRegister(p.host, conn.LocalAddr(), p.device, p.user)
	if err != nil {
		reg.Error = err.Error()
		rep.Findings = append(rep.Findings, diag.Finding{Code: CodeNoSIPAnswer, Severity: diag.Error, Path: "REGISTER", Message: "cannot build the REGISTER: " + err.Error()})
		return
	}
	reg.RequestURI = req.Recipient.String()
	deadline := time.Now().Add(p.timeout)
	conn.SetDeadline(deadline)
	var res *sip.Response
	w := sipstream.NewWriter(conn, 0) // within the deadline set above
	if err = w.WriteMessage(req, time.Time{}); err == nil {
		res, err = readFinalResponse(conn, maxAnswer, sipstream.WithPong(w))
	}
	if err != nil {
		reg.Error = err.Error()
		if isRemoteAlert(err) {
			// Under TLS 1.3 the server's verdict on a client certificate
			// arrives after the client's handshake is over.
			rep.Handshake = "failed"
			e.diagnose(rep, err, p.cert != nil)
			return
		}
		rep.Findings = append(rep.Findings, diag.Finding{Code: CodeNoSIPAnswer, Severity: diag.Error, Path: "REGISTER",
			Message: "no answer to the REGISTER: " + err.Error(),
			Fix:     "check that a SIP registrar listens on " + rep.Address + " over TLS"})
		return
	}
	rep.Findings = append(rep.Findings, answerFindings(reg, res, rep.Address)...)
}

// checkChain adds the view and the findings of the chain the server
// presented: the node's certificate, for the name dialed, against roots.
func (e *env) checkChain(rep *probeReport, chain []*x509.Certificate, roots *x509.CertPool) {
	var pemChain []byte
	for _, c := range chain {
		pemChain = append(pemChain, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})...)
	}
	if res, err := inspect.Check(inspect.KindCert, pemChain, inspect.Options{Role: "node", Host: rep.ServerName, Now: e.now()}); err == nil {
		rep.Chain = res.Certs
	}
	fs, _, err := certcheck.CheckPEM(pemChain, certcheck.Options{Role: certcheck.RoleNode, Host: rep.ServerName, Roots: roots, Now: e.now()})
	if err == nil {
		rep.Findings = append(rep.Findings, fs...)
	}
}

// diagnose explains a failed handshake. With a certificate the probe
// connects as an edge proxy does (the edge side), without one as a soft
// client does (the client side).
func (e *env) diagnose(rep *probeReport, err error, withCert bool) {
	side := diag.ClientSide
	if withCert {
		side = diag.EdgeSide
	}
	d := mtlstrust.Diagnose(err, side)
	rep.Diagnosis = &diagnosisView{Scenario: d.Scenario, Alert: d.Alert, Code: d.Code, Message: d.Message, Fix: d.Fix}
	rep.Findings = append(rep.Findings, d.Finding)
}

// isRemoteAlert reports whether err is a TLS alert the peer sent.
func isRemoteAlert(err error) bool {
	var ae tls.AlertError
	if errors.As(err, &ae) {
		return true
	}
	var op *net.OpError
	return errors.As(err, &op) && op.Op == "remote error"
}

// buildRegister builds a REGISTER like Jabber's first one: no
// credentials, the device in the Contact, Expires 3600.
func buildRegister(host string, local net.Addr, device, user string) (*sip.Request, error) {
	lh, lp := "127.0.0.1", 5061
	if ta, ok := local.(*net.TCPAddr); ok {
		lh, lp = ta.IP.String(), ta.Port
	}
	uriHost, localURI := host, lh
	if strings.Contains(host, ":") {
		uriHost = "[" + host + "]"
	}
	if strings.Contains(lh, ":") {
		localURI = "[" + lh + "]"
	}
	var ruri, aor sip.Uri
	if err := sip.ParseUri("sip:"+uriHost, &ruri); err != nil {
		return nil, fmt.Errorf("request URI: %w", err)
	}
	if err := sip.ParseUri("sip:"+user+"@"+uriHost, &aor); err != nil {
		return nil, fmt.Errorf("address of record: %w", err)
	}
	req := sip.NewRequest(sip.REGISTER, ruri)
	via := &sip.ViaHeader{ProtocolName: "SIP", ProtocolVersion: "2.0", Transport: "TLS", Host: lh, Port: lp, Params: sip.NewParams()}
	via.Params.Add("branch", sip.GenerateBranch())
	req.AppendHeader(via)
	from := &sip.FromHeader{Address: aor, Params: sip.NewParams()}
	from.Params.Add("tag", sip.GenerateTagN(16))
	req.AppendHeader(from)
	req.AppendHeader(&sip.ToHeader{Address: aor, Params: sip.NewParams()})
	callID := sip.CallIDHeader(randomHex(12) + "@" + lh)
	req.AppendHeader(&callID)
	req.AppendHeader(&sip.CSeqHeader{SeqNo: 101, MethodName: sip.REGISTER})
	mf := sip.MaxForwardsHeader(70)
	req.AppendHeader(&mf)
	req.AppendHeader(sip.NewHeader("User-Agent", client.DefaultUserAgent))
	req.AppendHeader(sip.NewHeader("Contact", fmt.Sprintf(`<sip:%s@%s:%d;transport=tls>;+sip.instance="<urn:uuid:%s>";`+ucm.DeviceParam+`="%s";`+ucm.ModelParam+`="%s"`,
		user, localURI, lp, uuid(), device, client.DefaultModel)))
	exp := sip.ExpiresHeader(probeExpires)
	req.AppendHeader(&exp)
	cl := sip.ContentLengthHeader(0)
	req.AppendHeader(&cl)
	return req, nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

func uuid() string {
	var u [16]byte
	rand.Read(u[:])
	u[6] = u[6]&0x0f | 0x40
	u[8] = u[8]&0x3f | 0x80
	h := hex.EncodeToString(u[:])
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// errAnswerTooLarge is the error of an answer over the limit.
var errAnswerTooLarge = errors.New("answer larger than the limit")

// readFinalResponse reads SIP messages from r until a final response,
// skipping provisional responses, requests and keep-alives, and reading
// at most max bytes; opts are the stream reader's (WithPong answers the
// server's pings).
func readFinalResponse(r io.Reader, max int, opts ...sipstream.Option) (*sip.Response, error) {
	sr := sipstream.NewReader(&cappedReader{r: r, left: max}, opts...)
	for {
		m, err := sr.ReadMessage()
		var bad *sipstream.Error
		switch {
		case errors.As(err, &bad):
			return nil, fmt.Errorf("malformed answer: %w", err)
		case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
			return nil, errors.New("the server closed the connection without a final answer")
		case err != nil:
			return nil, err
		}
		if res, ok := m.(*sip.Response); ok && !res.IsProvisional() {
			return res, nil
		}
	}
}

// cappedReader reads at most left bytes of r: the read that goes past
// them fails with errAnswerTooLarge.
type cappedReader struct {
	r    io.Reader
	left int
}

func (c *cappedReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	if c.left -= n; c.left < 0 {
		return 0, errAnswerTooLarge
	}
	return n, err
}

// answerFindings fills reg from the answer and returns its findings:
// inspect's for the response, the same as the browser page gives for it
// (the challenge; the port mismatch and its causes, scenario 1), and the
// probe's own for an answer a REGISTER without credentials should not get.
func answerFindings(reg *registerView, res *sip.Response, addr string) diag.Findings {
	reg.Status, reg.Reason = res.StatusCode, res.Reason
	reg.Headers = map[string]string{}
	for _, h := range shownHeaders {
		if v := res.GetHeader(h); v != nil {
			reg.Headers[h] = v.Value()
		}
	}
	if ra, ok := ucm.ParseRetryAfter(reg.Headers["Retry-After"]); ok {
		reg.RetryAfter = int(ra / time.Second)
	}
	_, portText, _ := net.SplitHostPort(addr)
	port, _ := strconv.Atoi(portText)
	var fs diag.Findings
	checked := false
	if ir, err := inspect.Check(inspect.KindResponse, []byte(res.String()), inspect.Options{Port: port}); err == nil {
		fs, checked = ir.Findings, true
		if ir.Response != nil {
			reg.Scenario = ir.Response.Scenario
		}
	}
	switch res.StatusCode {
	case 401, 407:
		name := "Proxy-Authenticate"
		if res.StatusCode == 401 {
			name = "WWW-Authenticate"
		}
		var values []string
		for _, h := range res.GetHeaders(name) {
			values = append(values, h.Value())
		}
		if cs, _, _ := bearer.ParseChallenges(values); len(cs) > 0 {
			ch := cs[0]
			reg.Challenge = &challengeView{Header: name, Value: ch.String(), Realm: ch.Realm, Scope: ch.Scope, AuthzServer: ch.AuthzServer, Error: string(ch.Error)}
		} else if !checked || !fs.HasErrors() {
			fs = append(fs, diag.Finding{Code: CodeNoBearerChallenge, Severity: diag.Error, Path: name,
				Message: fmt.Sprintf("the %d answer carries no Bearer challenge in %s", res.StatusCode, name),
				Fix:     "the port does not speak SIP OAuth: register on the node's sipOAuthPort (5090) or, through the edge proxy, sipMRAOAuthPort (5091)"})
		}
		return fs
	}
	switch {
	case reg.Scenario == 1:
	case res.StatusCode >= 200 && res.StatusCode < 300:
		fs = append(fs, diag.Finding{Code: CodeRegisteredWithoutToken, Severity: diag.Warning, Path: "REGISTER",
			Message: fmt.Sprintf("the registrar answered %d %s to a REGISTER without credentials: it does not ask for a token", res.StatusCode, res.Reason),
			Fix:     "on a SIP OAuth port every registration must carry a bearer token: check that this is the OAuth port and that the device's profile enables OAuth"})
	case res.StatusCode == 404:
		fs = append(fs, diag.Finding{Code: CodeRegisterRefused, Severity: diag.Error, Path: "REGISTER",
			Message: fmt.Sprintf("the registrar answered %d %s: it does not know device %q", res.StatusCode, res.Reason, reg.Device),
			Fix:     "probe with a device the registrar knows: --device NAME --user USER"})
	case res.StatusCode >= 300 && !fs.HasErrors():
		fs = append(fs, diag.Finding{Code: CodeRegisterRefused, Severity: diag.Error, Path: "REGISTER",
			Message: fmt.Sprintf("the registrar answered %d %s instead of a Bearer challenge", res.StatusCode, res.Reason),
			Fix:     "see the registrar's log for why it refused the device"})
	}
	return fs
}

// printProbe prints a probe's report for a person.
func printProbe(w io.Writer, rep *probeReport) {
	fmt.Fprintf(w, "probe %s (server name %s)\n", rep.Address, rep.ServerName)
	tlsLine := "TLS handshake " + rep.Handshake
	if rep.TLSVersion != "" {
		tlsLine += ": " + rep.TLSVersion + ", " + rep.CipherSuite
	}
	if rep.ClientCertificate {
		tlsLine += ", client certificate presented"
	}
	fmt.Fprintln(w, tlsLine)
	switch {
	case rep.Verified:
		fmt.Fprintln(w, "chain verified against "+rep.TrustedBy)
	case rep.VerifyError != "":
		fmt.Fprintln(w, "chain not verified against "+rep.TrustedBy+": "+rep.VerifyError)
	}
	if len(rep.Chain) > 0 {
		printCerts(w, rep.Chain)
	}
	if d := rep.Diagnosis; d != nil {
		line := "diagnosis: "
		if d.Scenario != 0 {
			line += "scenario " + strconv.Itoa(d.Scenario) + " "
		}
		fmt.Fprintln(w, line+"["+d.Code+"] "+d.Message)
		if d.Fix != "" {
			fmt.Fprintln(w, "  fix: "+d.Fix)
		}
	}
	if r := rep.Register; r != nil {
		fmt.Fprintf(w, "REGISTER %s (device %s, user %s, Expires %d, no credentials)\n", r.RequestURI, r.Device, r.User, r.Expires)
		if r.Status != 0 {
			line := fmt.Sprintf("  answer: %d %s", r.Status, r.Reason)
			if r.Scenario != 0 {
				line += " (troubleshooting scenario " + strconv.Itoa(r.Scenario) + ")"
			}
			fmt.Fprintln(w, line)
			for _, h := range shownHeaders {
				if v, ok := r.Headers[h]; ok {
					fmt.Fprintf(w, "  %s: %s\n", h, v)
				}
			}
			if ch := r.Challenge; ch != nil {
				fmt.Fprintf(w, "  Bearer challenge in %s, realm %q", ch.Header, ch.Realm)
				if ch.Realm == bearer.CiscoRealm {
					fmt.Fprint(w, " (Unified CM's)")
				}
				fmt.Fprintln(w)
			}
		} else if r.Error != "" {
			fmt.Fprintln(w, "  no answer: "+r.Error)
		}
	}
	printFindings(w, rep.Findings)
}
