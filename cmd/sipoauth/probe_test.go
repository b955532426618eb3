package main

import (
	"bytes"
	"crypto"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"io"
	"log/slog"
	"net"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"testing/iotest"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"

	"github.com/sipoauth/sdk/diag"
	"github.com/sipoauth/sdk/edgetable"
	"github.com/sipoauth/sdk/internal/testca"
	"github.com/sipoauth/sdk/issuer"
	"github.com/sipoauth/sdk/mtlstrust"
	"github.com/sipoauth/sdk/registrar"
	"github.com/sipoauth/sdk/sipoauth"
)

// probeLab is a registrar node on 127.0.0.1 with an OAuth (TLS) and an
// edge (mutual TLS) listener, and a third TLS listener whose certificate
// comes from a CA nobody trusts.
type probeLab struct {
	oauthAddr, edgeAddr, rogueAddr string
	nodeCA, proxyCA                string // PEM files of the CAs
	proxyCert, proxyKey            string // an edge proxy in the table
	strangerCert, strangerKey      string // an edge proxy not in the table
	oauth                          *atomic.Bool
}

func newProbeLab(t *testing.T) *probeLab {
	t.Helper()
	dir := t.TempDir()
	l := &probeLab{oauth: new(atomic.Bool)}
	l.oauth.Store(true)
	issuer, err := issuer.New(issuer.Config{})
	if err != nil {
		t.Fatal(err)
	}
	keys, _ := sipoauth.NewStaticKeys(map[string]crypto.PublicKey{issuer.KeyID(): issuer.PublicKey()})
	v, err := sipoauth.New(sipoauth.Config{Keys: keys})
	if err != nil {
		t.Fatal(err)
	}
	devices := registrar.MemoryDevices{
		"CSFrado":   {Name: "CSFrado", Owner: "rado", OAuth: true},
		"SEPlegacy": {Name: "SEPlegacy", Owner: "rado", OAuth: false},
	}
	nodeCA := testca.New(t, "Node CA")
	proxyCA := testca.New(t, "Expressway CA")
	otherCA := testca.New(t, "Other CA")
	l.nodeCA = write(t, dir, "node-ca.pem", testca.CertPEM(nodeCA.Cert))
	l.proxyCA = write(t, dir, "proxy-ca.pem", testca.CertPEM(proxyCA.Cert))
	edgeProxy := func(name string) *testca.Leaf {
		return proxyCA.Issue(t, testca.Options{CommonName: name, DNSNames: []string{name},
			ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth, x509.ExtKeyUsageServerAuth}, NotAfter: time.Now().Add(365 * 24 * time.Hour)})
	}
	proxy := edgeProxy("expc1.example.com")
	l.proxyCert, l.proxyKey = write(t, dir, "expc1.pem", proxy.CertPEM()), write(t, dir, "expc1.key", proxy.KeyPEM())
	stranger := edgeProxy("expc9.example.com")
	l.strangerCert, l.strangerKey = write(t, dir, "expc9.pem", stranger.CertPEM()), write(t, dir, "expc9.key", stranger.KeyPEM())

	// Certificates valid for a year, so that no cert-expiring warning
	// comes with them.
	server := func(ca *testca.CA) *mtlstrust.CertSource {
		leaf := ca.Issue(t, testca.Options{CommonName: "ucm-pub.example.com", DNSNames: []string{"ucm-pub.example.com"}, IPs: []net.IP{net.IPv4(127, 0, 0, 1)},
			ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, NotAfter: time.Now().Add(365 * 24 * time.Hour)})
		cs, err := mtlstrust.NewCertSource(leaf.TLS())
		if err != nil {
			t.Fatal(err)
		}
		return cs
	}
	nodeCert, rogueCert := server(nodeCA), server(otherCA)
	table := &edgetable.Memory{}
	table.Put(edgetable.Entry{HostNameOrIP: "expc1", Names: []string{"expc1.example.com"}})

	lnOAuth, err := tls.Listen("tcp", "127.0.0.1:0", mtlstrust.OAuthServerConfig(nodeCert))
	if err != nil {
		t.Fatal(err)
	}
	lnEdge, err := tls.Listen("tcp", "127.0.0.1:0", mtlstrust.EdgeServerConfig(nodeCert, mtlstrust.NewTrustStore(proxyCA.Cert), edgetable.Authorize(table)))
	if err != nil {
		t.Fatal(err)
	}
	lnRogue, err := tls.Listen("tcp", "127.0.0.1:0", mtlstrust.OAuthServerConfig(rogueCert))
	if err != nil {
		t.Fatal(err)
	}
	l.oauthAddr, l.edgeAddr, l.rogueAddr = lnOAuth.Addr().String(), lnEdge.Addr().String(), lnRogue.Addr().String()
	ports := registrar.Ports{
		lnOAuth.Addr().(*net.TCPAddr).Port: registrar.RoleOAuth,
		lnEdge.Addr().(*net.TCPAddr).Port:  registrar.RoleEdge,
		lnRogue.Addr().(*net.TCPAddr).Port: registrar.RoleOAuth,
	}
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	reg, err := registrar.New(registrar.Config{NodeName: "UCM2-PUB", OAuthEnabled: l.oauth, Devices: devices, Validator: v, Ports: ports, Logger: quiet,
		EdgeAuthorizer: edgetable.Authorize(table)})
	if err != nil {
		t.Fatal(err)
	}
	// The handshakes the probes fail on purpose are not logged.
	ua, _ := sipgo.NewUA(sipgo.WithUserAgent("Cisco-CUCM12.5"),
		sipgo.WithUserAgentTransportLayerOptions(sip.WithTransportLayerLogger(quiet)),
		sipgo.WithUserAgentTransactionLayerOptions(sip.WithTransactionLayerLogger(quiet)))
	srv, _ := sipgo.NewServer(ua, sipgo.WithServerLogger(quiet))
	srv.OnRegister(reg.HandleRegister)
	go srv.ServeTLS(lnOAuth)
	go srv.ServeTLS(lnEdge)
	go srv.ServeTLS(lnRogue)
	t.Cleanup(func() { lnOAuth.Close(); lnEdge.Close(); lnRogue.Close(); srv.Close(); ua.Close() })
	return l
}

func decodeProbe(t *testing.T, r result) probeReport {
	t.Helper()
	var rep probeReport
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
		t.Fatalf("%v:\n%s", err, r.stdout)
	}
	return rep
}

func TestProbe(t *testing.T) {
	l := newProbeLab(t)

	t.Run("challenge", func(t *testing.T) {
		r := cli(t, "", "probe", "--ca", l.nodeCA, "--device", "CSFrado", "--user", "rado", l.oauthAddr).want(t, exitOK)
		r.contains(t,
			"probe "+l.oauthAddr+" (server name 127.0.0.1)\n",
			"TLS handshake ok: TLS 1.3, ",
			"chain verified against "+l.nodeCA+"\n",
			"certificate 1 of 1: CN=ucm-pub.example.com\n",
			"  names      ucm-pub.example.com, 127.0.0.1\n",
			"REGISTER sip:127.0.0.1 (device CSFrado, user rado, Expires 3600, no credentials)\n",
			"  answer: 407 Proxy Authentication Required\n",
			"  Proxy-Authenticate: Bearer realm=\"ccmsipline\"\n",
			"  Bearer challenge in Proxy-Authenticate, realm \"ccmsipline\" (Unified CM's)\n",
			"\n1 finding: 1 info\ninfo challenge Proxy-Authenticate: a Bearer challenge (realm \"ccmsipline\"): the registrar asks for an access token\n",
		)
		rep := decodeProbe(t, cli(t, "", "probe", "--json", "--ca", l.nodeCA, "--device", "CSFrado", "--user", "rado", l.oauthAddr).want(t, exitOK))
		if !rep.Verified || rep.Handshake != "ok" || rep.ClientCertificate || len(rep.Chain) != 1 || rep.Chain[0].Subject != "CN=ucm-pub.example.com" ||
			rep.Register.Status != 407 || rep.Register.Challenge == nil || rep.Register.Challenge.Value != `Bearer realm="ccmsipline"` ||
			rep.Register.Challenge.Header != "Proxy-Authenticate" || rep.Diagnosis != nil || strings.Join(codes(rep.Findings), ",") != "info challenge" {
			t.Errorf("JSON: %+v", rep)
		}
	})

	t.Run("DER CA", func(t *testing.T) {
		b, _ := os.ReadFile(l.nodeCA)
		blk, _ := pem.Decode(b)
		der := write(t, t.TempDir(), "node-ca.cer", blk.Bytes)
		rep := decodeProbe(t, cli(t, "", "probe", "--json", "--ca", der, "--device", "CSFrado", "--user", "rado", l.oauthAddr).want(t, exitOK))
		if !rep.Verified || rep.TrustedBy != der {
			t.Errorf("JSON: %+v", rep)
		}
		cli(t, "", "probe", "--ca", cnfData+"CSFrado.cnf.xml", l.oauthAddr).want(t, exitUsage).errContains(t, "no PEM or DER certificate")
	})

	t.Run("port mismatch", func(t *testing.T) {
		r := cli(t, "", "probe", "--ca", l.nodeCA, "--device", "SEPlegacy", "--user", "rado", l.oauthAddr).want(t, exitFindings)
		r.contains(t,
			"  answer: 403 Forbidden (troubleshooting scenario 1)\n",
			"  Warning: 399 UCM2-PUB \"SIP OAuth Registration port Mismatch\"\n",
			"  Retry-After: 35\n",
			"1 finding: 1 error, 3 possible causes\nerror port-mismatch Warning: the registrar refused the REGISTER on port ",
			"\n  possible cause profile-without-oauth: the device's security profile does not enable OAuth",
			"\n    fix: in System > Security > Phone Security Profile",
			"\n  possible cause oauth-disabled-cluster-wide: ",
			"\n  possible cause wrong-connection-kind: ",
		)
		if strings.Contains(r.stdout, "3 errors") {
			t.Errorf("three errors for one refusal:\n%s", r.stdout)
		}
		rep := decodeProbe(t, cli(t, "", "probe", "--json", "--ca", l.nodeCA, "--device", "SEPlegacy", "--user", "rado", l.oauthAddr).want(t, exitFindings))
		if rep.Register.Status != 403 || rep.Register.RetryAfter != 35 || rep.Register.Scenario != 1 || rep.Register.Headers["Retry-After"] != "35" ||
			strings.Join(codes(rep.Findings), ",") != "error port-mismatch,info profile-without-oauth,info oauth-disabled-cluster-wide,info wrong-connection-kind" {
			t.Errorf("JSON: %+v", rep)
		}
	})

	t.Run("unknown device", func(t *testing.T) {
		cli(t, "", "probe", "--ca", l.nodeCA, l.oauthAddr).want(t, exitFindings).
			contains(t, "  answer: 404 Not Found\n", "error register-refused REGISTER: the registrar answered 404 Not Found: it does not know device \"CSFprobe\"\n")
	})

	t.Run("unknown CA", func(t *testing.T) {
		r := cli(t, "", "probe", "--ca", l.nodeCA, "--device", "CSFrado", "--user", "rado", l.rogueAddr).want(t, exitFindings)
		r.contains(t,
			"TLS handshake failed\n",
			"chain not verified against "+l.nodeCA+": x509: certificate signed by unknown authority",
			"certificate 1 of 1: CN=ucm-pub.example.com\n",
			"  issuer     CN=Other CA,O=sipoauth test\n",
			"diagnosis: [unknown-ca-at-client] the client does not trust the signer of the node's certificate (issued by CN=Other CA,O=sipoauth test)\n",
			"  fix: "+diag.FixUnknownCAAtClient+"\n",
			"error incomplete-chain ",
			"error unknown-ca-at-client tls: ",
		)
		if strings.Contains(r.stdout, "REGISTER") {
			t.Errorf("a REGISTER after a failed handshake:\n%s", r.stdout)
		}
		rep := decodeProbe(t, cli(t, "", "probe", "--json", "--ca", l.nodeCA, l.rogueAddr).want(t, exitFindings))
		if rep.Verified || rep.Handshake != "failed" || rep.Diagnosis == nil || rep.Diagnosis.Scenario != 0 || rep.Diagnosis.Alert != 48 ||
			rep.Diagnosis.Code != "unknown-ca-at-client" || rep.Register != nil || len(rep.Chain) != 1 ||
			strings.Join(codes(rep.Findings), ",") != "error incomplete-chain,error unknown-ca-at-client" {
			t.Errorf("JSON: %+v", rep)
		}
		// With a certificate the probe plays the edge proxy: scenario 2.
		edge := cli(t, "", "probe", "--ca", l.nodeCA, "--cert", l.proxyCert, "--key", l.proxyKey, l.rogueAddr).want(t, exitFindings)
		edge.contains(t,
			"diagnosis: scenario 2 [unknown-ca-at-edge-proxy] the edge proxy does not trust the signer of the node's certificate (issued by CN=Other CA,O=sipoauth test)\n",
			"  fix: upload the CA that signed the node's Tomcat certificate to Expressway-C's trusted CA list\n",
		)
	})

	t.Run("edge port with a certificate", func(t *testing.T) {
		r := cli(t, "", "probe", "--ca", l.nodeCA, "--cert", l.proxyCert, "--key", l.proxyKey, "--device", "CSFrado", "--user", "rado", l.edgeAddr).want(t, exitOK)
		r.contains(t, ", client certificate presented\n", "  answer: 407 Proxy Authentication Required\n", "  Proxy-Authenticate: Bearer realm=\"ccmsipline\"\n")
		rep := decodeProbe(t, cli(t, "", "probe", "--json", "--ca", l.nodeCA, "--cert", l.proxyCert, "--key", l.proxyKey, "--device", "CSFrado", "--user", "rado", l.edgeAddr).want(t, exitOK))
		if !rep.ClientCertificate || rep.Register.Status != 407 {
			t.Errorf("JSON: %+v", rep)
		}
	})

	t.Run("edge port, proxy not in the table", func(t *testing.T) {
		rep := decodeProbe(t, cli(t, "", "probe", "--json", "--ca", l.nodeCA, "--cert", l.strangerCert, "--key", l.strangerKey, "--device", "CSFrado", "--user", "rado", l.edgeAddr).want(t, exitFindings))
		if rep.Handshake != "failed" || !rep.Verified || !rep.ClientCertificate || rep.Diagnosis == nil || rep.Diagnosis.Code != "bad-certificate" || rep.Diagnosis.Scenario != 3 ||
			rep.Diagnosis.Alert != 42 || rep.Register == nil || rep.Register.Status != 0 || rep.Register.Error != "remote error: tls: bad certificate" ||
			strings.Join(codes(rep.Findings), ",") != "error bad-certificate" {
			t.Errorf("JSON: %+v %+v", rep, rep.Diagnosis)
		}
	})

	t.Run("edge port without a certificate", func(t *testing.T) {
		rep := decodeProbe(t, cli(t, "", "probe", "--json", "--ca", l.nodeCA, "--device", "CSFrado", "--user", "rado", l.edgeAddr).want(t, exitFindings))
		if rep.Handshake != "failed" || rep.Diagnosis == nil || rep.Diagnosis.Code != "no-client-certificate" || rep.Diagnosis.Scenario != 0 {
			t.Errorf("JSON: %+v %+v", rep, rep.Diagnosis)
		}
	})

	t.Run("OAuth port with a certificate", func(t *testing.T) {
		// The OAuth port asks for no certificate: none is presented, and
		// the challenge comes as on premises.
		rep := decodeProbe(t, cli(t, "", "probe", "--json", "--ca", l.nodeCA, "--cert", l.proxyCert, "--key", l.proxyKey, "--device", "CSFrado", "--user", "rado", l.oauthAddr).want(t, exitOK))
		if rep.ClientCertificate || rep.Register.Status != 407 {
			t.Errorf("JSON: %+v", rep)
		}
	})

	t.Run("cluster switch off", func(t *testing.T) {
		l.oauth.Store(false)
		defer l.oauth.Store(true)
		cli(t, "", "probe", "--ca", l.nodeCA, "--device", "CSFrado", "--user", "rado", l.oauthAddr).want(t, exitFindings).
			contains(t, "  answer: 403 Forbidden (troubleshooting scenario 1)\n", "  Retry-After: 35\n")
	})

	t.Run("server name", func(t *testing.T) {
		cli(t, "", "probe", "--ca", l.nodeCA, "--name", "ucm-pub.example.com", "--device", "CSFrado", "--user", "rado", l.oauthAddr).want(t, exitOK).
			contains(t, "probe "+l.oauthAddr+" (server name ucm-pub.example.com)\n", "REGISTER sip:127.0.0.1 ", "  answer: 407 ")
		r := cli(t, "", "probe", "--ca", l.nodeCA, "--name", "ucm-sub.example.com", l.oauthAddr).want(t, exitFindings)
		r.contains(t, "diagnosis: [node-name-mismatch] the node's certificate is not valid for ucm-sub.example.com (it names ucm-pub.example.com, 127.0.0.1)\n")
		rep := decodeProbe(t, cli(t, "", "probe", "--json", "--ca", l.nodeCA, "--name", "ucm-sub.example.com", l.oauthAddr).want(t, exitFindings))
		if rep.Diagnosis == nil || rep.Diagnosis.Code != "node-name-mismatch" || rep.Diagnosis.Scenario != 0 || strings.Join(codes(rep.Findings), ",") != "error name-mismatch,error node-name-mismatch" {
			t.Errorf("JSON: %+v %+v", rep, rep.Findings)
		}
	})
}

func TestProbeConnectFailed(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	rep := decodeProbe(t, cli(t, "", "probe", "--json", "--timeout", "2s", addr).want(t, exitFindings))
	if rep.Handshake != "not attempted" || len(rep.Findings) != 1 || rep.Findings[0].Code != CodeConnectFailed || !strings.Contains(rep.Findings[0].Message, "connection refused") {
		t.Errorf("JSON: %+v", rep)
	}
}

// TestProbeNotTLS: a port that does not speak TLS fails the handshake,
// explained as such; a TLS port that never answers the REGISTER times out.
func TestProbeNotTLS(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Write([]byte("SIP/2.0 400 Bad Request\r\n\r\n"))
			c.Close()
		}
	}()
	rep := decodeProbe(t, cli(t, "", "probe", "--json", "--timeout", "2s", ln.Addr().String()).want(t, exitFindings))
	if rep.Handshake != "failed" || rep.Diagnosis == nil || rep.Diagnosis.Code != "handshake-failed" {
		t.Errorf("JSON: %+v", rep)
	}

	ca := testca.New(t, "Silent CA")
	cert := ca.Issue(t, testca.Options{CommonName: "127.0.0.1", IPs: []net.IP{net.IPv4(127, 0, 0, 1)}, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		NotAfter: time.Now().Add(365 * 24 * time.Hour)}).TLS()
	silent, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{cert}})
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	go func() {
		for {
			c, err := silent.Accept()
			if err != nil {
				return
			}
			go func() { io.Copy(io.Discard, c); c.Close() }()
		}
	}()
	caFile := write(t, t.TempDir(), "ca.pem", testca.CertPEM(ca.Cert))
	rep = decodeProbe(t, cli(t, "", "probe", "--json", "--timeout", "300ms", "--ca", caFile, silent.Addr().String()).want(t, exitFindings))
	if rep.Handshake != "ok" || len(rep.Findings) != 1 || rep.Findings[0].Code != CodeNoSIPAnswer || !strings.Contains(rep.Findings[0].Message, "i/o timeout") {
		t.Errorf("JSON: %+v", rep)
	}
}

func TestReadFinalResponse(t *testing.T) {
	msg := "\r\nSIP/2.0 100 Trying\r\nVia: SIP/2.0/TLS 10.0.0.1;branch=z9hG4bK1\r\nCSeq: 1 REGISTER\r\nContent-Length: 0\r\n\r\n" +
		"SIP/2.0 407 Proxy Authentication Required\r\nVia: SIP/2.0/TLS 10.0.0.1;branch=z9hG4bK1\r\nCSeq: 1 REGISTER\r\nProxy-Authenticate: Bearer realm=\"ccmsipline\"\r\nContent-Length: 4\r\n\r\nbody"
	// One byte at a time, as a slow peer sends it.
	res, err := readFinalResponse(iotest.OneByteReader(strings.NewReader(msg)), maxAnswer)
	if err != nil || res.StatusCode != 407 || res.GetHeader("Proxy-Authenticate").Value() != `Bearer realm="ccmsipline"` || string(res.Body()) != "body" {
		t.Fatalf("%v %v", res, err)
	}
	if _, err := readFinalResponse(strings.NewReader(msg[:60]), maxAnswer); err == nil || err.Error() != "the server closed the connection without a final answer" {
		t.Errorf("cut short: %v", err)
	}
	if _, err := readFinalResponse(strings.NewReader("SIP/2.0 200 OK\r\nX: "+strings.Repeat("a", 100)), 64); err != errAnswerTooLarge {
		t.Errorf("over the limit: %v", err)
	}
	if _, err := readFinalResponse(strings.NewReader("HELLO\r\n\r\n"), maxAnswer); err == nil || !strings.HasPrefix(err.Error(), "malformed answer: ") {
		t.Errorf("not SIP: %v", err)
	}
}

func FuzzReadFinalResponse(f *testing.F) {
	f.Add([]byte("SIP/2.0 407 Proxy Authentication Required\r\nCSeq: 1 REGISTER\r\nProxy-Authenticate: Bearer realm=\"ccmsipline\"\r\nContent-Length: 0\r\n\r\n"))
	f.Add([]byte("SIP/2.0 403 Forbidden\r\nRetry-After: 35\r\nWarning: 399 UCM2-PUB \"SIP OAuth Registration port Mismatch\"\r\nContent-Length: 0\r\n\r\n"))
	f.Add([]byte("SIP/2.0 100 Trying\r\nContent-Length: 0\r\n\r\nSIP/2.0 200 OK\r\nContent-Length: 2\r\n\r\nok"))
	f.Add([]byte("\r\n\r\n"))
	f.Add([]byte("SIP/2.0 200 OK\r\nContent-Length: 99999999\r\n\r\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		res, err := readFinalResponse(bytes.NewReader(b), 4096)
		if err == nil {
			if res == nil || res.IsProvisional() {
				t.Fatalf("%q: %v", b, res)
			}
			reg := &registerView{}
			answerFindings(reg, res, "127.0.0.1:5090")
		}
	})
}
