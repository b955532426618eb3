package clientlog

import (
	"bytes"

	"github.com/sipoauth/sdk/diag"
)

// Words that may mark a TLS failure, for a cheap first look at a record:
// every phrase classifyTLS knows holds one of them. Each starts with a
// byte that is rare in logs, which keeps the search fast.
var tlsHints = [][]byte{
	[]byte("known"), []byte("ficate"), []byte("hake"), []byte("_connect"), []byte("_accept"), []byte("PKIX"), []byte("pkix"),
}

// tlsKind is what a TLS failure line says.
type tlsKind int

const (
	tlsNone           tlsKind = iota
	tlsPeerUnknownCA          // the peer sent alert unknown_ca: it does not trust our signer
	tlsPeerBadCert            // the peer sent alert bad_certificate
	tlsLocalUntrusted         // this side does not trust the peer's signer
	tlsExpired                // a certificate is expired
	tlsOther                  // another handshake failure
)

// classifyTLS reads a lower-case log text.
func classifyTLS(l []byte) tlsKind {
	has := func(words ...string) bool {
		for _, w := range words {
			if bytes.Contains(l, []byte(w)) {
				return true
			}
		}
		return false
	}
	received := has("remote error", "received alert", "alert received", "tlsv1 alert", "sslv3 alert", "peer sent") ||
		has("alert") && !has("sending alert", "sent alert", "send alert")
	unknownCA := has("unknown ca", "unknown_ca", "unknown certificate authority")
	badCert := has("bad certificate", "bad_certificate")
	switch {
	case unknownCA && received:
		return tlsPeerUnknownCA
	case badCert && received:
		return tlsPeerBadCert
	case unknownCA, badCert, has("signed by unknown authority", "unable to get local issuer", "self signed certificate",
		"self-signed certificate", "certificate verify failed", "pkix path", "certificate is not trusted", "untrusted certificate"):
		return tlsLocalUntrusted
	case has("certificate has expired", "certificate expired", "expired certificate"):
		return tlsExpired
	case has("handshake fail", "handshake error", "ssl_connect", "ssl_accept", "tls handshake", "ssl handshake") &&
		has("fail", "error", "abort"):
		return tlsOther
	}
	return tlsNone
}

// tlsRecord reports a record that tells of a failed TLS handshake, in
// terms of troubleshooting scenarios 2 and 3 where they apply.
func (a *analyzer) tlsRecord(t []byte) {
	hint := false
	for _, h := range tlsHints {
		if bytes.Contains(t, h) {
			hint = true
			break
		}
	}
	if !hint {
		return
	}
	a.lower = append(a.lower[:0], t...)
	for i, c := range a.lower {
		if c >= 'A' && c <= 'Z' {
			a.lower[i] = c + 'a' - 'A'
		}
	}
	kind := classifyTLS(a.lower)
	if kind == tlsNone {
		return
	}
	r := &a.rec
	line := r.line
	text := t
	if i := bytes.Index(t, markMessage); i >= 0 {
		text = t[i+len(markMessage):]
		line = r.lineAt(i + len(markMessage))
	}
	quote := " (\"" + cleanString(text, 160) + "\")"
	// A client on premises connects to the node's OAuth port; an edge proxy
	// connects to its MRA OAuth port, where scenarios 2 and 3 happen.
	client := a.lastConn != nil && a.lastConn.oauth && a.lastConn.port != 5091 &&
		!(a.lastConn.node >= 0 && a.nodes[a.lastConn.node].mra == a.lastConn.port)
	var msg, fix string
	switch kind {
	case tlsPeerUnknownCA:
		msg = "TLS handshake failed: the peer answered with alert unknown_ca, it does not trust the signer of this side's certificate. " +
			"On the node's MRA OAuth port (5091) this is troubleshooting scenario 3: the node's tomcat-trust lacks the CA that signed the Expressway-C certificate"
		fix = "upload the CA that signed the Expressway-C certificate to the node's tomcat-trust (Cisco Unified OS Administration > Security > Certificate Management)"
	case tlsPeerBadCert:
		msg = "TLS handshake failed: the peer refused this side's certificate with alert bad_certificate. " +
			"On the node's MRA OAuth port (5091) this is troubleshooting scenario 3: the Expressway-C certificate's CN or SAN is not in the node's Expressway-C table, or its signer is not in tomcat-trust"
		fix = "on Expressway-C, refresh the Unified CM discovery so that it pushes its names (the node lists them under Device > Expressway-C), and upload its CA to the node's tomcat-trust"
	case tlsLocalUntrusted:
		if client {
			msg = "TLS handshake failed: the client does not trust the signer of the node's certificate (the node presents its Tomcat certificate on the OAuth port), the client's side of troubleshooting scenario 2"
			fix = "install the CA that signed the node's Tomcat certificate in the client's trust store, or have the Tomcat certificate signed by a CA the client trusts"
		} else {
			msg = "TLS handshake failed: this side does not trust the signer of the peer's certificate. " +
				"Seen by Expressway-C connecting to the node's MRA OAuth port, this is troubleshooting scenario 2: Expressway-C does not trust the signer of the node's Tomcat certificate"
			fix = "upload the CA that signed the node's Tomcat certificate to Expressway-C's trusted CA list (Maintenance > Security > Trusted CA certificate)"
		}
	case tlsExpired:
		msg = "TLS handshake failed: a certificate is expired or not yet valid"
		fix = "renew the expired certificate (the node's Tomcat certificate, or the Expressway-C's) and check the clocks of both sides"
	default:
		msg = "TLS handshake failed"
		fix = "check the certificates and trust stores of both sides: the node presents its Tomcat certificate on 5090 and 5091; on 5091 it requires the Expressway-C certificate, signed by a CA in tomcat-trust and named in the Expressway-C table"
	}
	a.report(CodeTLSFailure+"|"+string(rune('0'+kind)), CodeTLSFailure, diag.Error, line, msg+quote, fix)
}
