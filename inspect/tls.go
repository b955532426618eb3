package inspect

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/sipoauth/sdk/diag"
)

// TLS alerts the classification knows (RFC 8446 §6), diag's.
const (
	AlertBadCertificate      = diag.AlertBadCertificate
	AlertCertificateExpired  = diag.AlertCertificateExpired
	AlertUnknownCA           = diag.AlertUnknownCA
	AlertCertificateRequired = diag.AlertCertificateRequired
)

// Sides of a TLS error, as Options.Side and TLSView say them.
const (
	SideNode   = "node"
	SideEdge   = "edge"
	SideClient = "client" // a soft client connecting to the OAuth port, or to an edge proxy
)

// parseSide returns the side opts.Side names: SideEdge by default.
func parseSide(side string) (string, error) {
	switch strings.ToLower(side) {
	case "", "edge", "edge-proxy", "expressway":
		return SideEdge, nil
	case "node":
		return SideNode, nil
	case "client":
		return SideClient, nil
	}
	return "", fmt.Errorf("%w: side %q: want node, edge or client", ErrBadOption, side)
}

// checkTLS classifies a TLS error text seen on Options.Side.
func checkTLS(input []byte, opts Options) (Result, error) {
	side, err := parseSide(opts.Side)
	if err != nil {
		return Result{}, err
	}
	text := strings.TrimSpace(strings.ToValidUTF8(string(input), "\uFFFD"))
	c := classifyTLS(text, side)
	v := &TLSView{Side: side, Alert: c.Alert, Remote: c.Remote, Scenario: c.Scenario}
	return Result{Findings: diag.Findings{c.Finding}, TLS: v}, nil
}

// tlsClass is the classification of a TLS error text: diag's diagnosis,
// and whether the alert came from the peer.
type tlsClass struct {
	diag.TLSDiagnosis
	Remote bool
}

// diagSide is diag's name of a side.
func diagSide(side string) diag.Side {
	switch side {
	case SideNode:
		return diag.NodeSide
	case SideClient:
		return diag.ClientSide
	}
	return diag.EdgeSide
}

// classifyTLS explains a TLS error text the way mtlstrust.Diagnose
// explains the error value, both in diag's words: side is where the text
// was seen: SideNode (the MRA OAuth port), SideEdge (the edge proxy
// connecting to it) or SideClient (a soft client connecting to the OAuth
// port). An alert named in the text counts as received from the peer
// unless the text says "local error".
func classifyTLS(text, side string) tlsClass {
	ds := diagSide(side)
	lower := strings.ToLower(text)
	alert := alertIn(lower)
	remote := alert != 0 && !strings.Contains(lower, "local error")
	local := func(d diag.TLSDiagnosis) tlsClass { return tlsClass{TLSDiagnosis: d} }
	switch {
	case strings.Contains(lower, "edge-proxy table"):
		why := "none of its names is in the edge-proxy table"
		for _, p := range []string{"no name of the peer certificate", "peer certificate presents no name"} {
			if i := strings.Index(lower, p); i >= 0 {
				why = text[i:]
				break
			}
		}
		return local(diag.TLSNotInTable(why))
	case strings.Contains(lower, "signed by unknown authority"):
		return local(diag.TLSUnknownCA(ds, candidate(text)))
	case strings.Contains(lower, "certificate has expired or is not yet valid"):
		detail := ""
		if i := strings.Index(lower, "not yet valid: "); i >= 0 {
			detail = text[i+len("not yet valid: "):]
		}
		return local(diag.TLSExpired(ds, detail))
	case isHostnameError(lower):
		return local(diag.TLSNameMismatch(hostnameParts(text)))
	}
	if d, ok := diag.TLSAlert(ds, alert); ok && remote {
		return tlsClass{d, remote}
	}
	if ds == diag.NodeSide && strings.Contains(lower, "didn't provide a certificate") {
		return tlsClass{diag.TLSNoClientCertificate(), remote}
	}
	return tlsClass{diag.TLSUnexplained(alert, text), remote}
}

// candidate names the candidate authority of an unknown-authority error
// text, when it names one.
func candidate(text string) string {
	const p = `candidate authority certificate "`
	i := strings.Index(text, p)
	if i < 0 {
		return ""
	}
	rest := text[i+len(p):]
	if j := strings.IndexByte(rest, '"'); j >= 0 {
		return "the candidate signer " + rest[:j] + " did not verify it"
	}
	return ""
}

func isHostnameError(lower string) bool {
	return strings.Contains(lower, "x509: certificate is valid for") ||
		strings.Contains(lower, "certificate is not valid for any names") ||
		strings.Contains(lower, "because it doesn't contain any ip sans") ||
		strings.Contains(lower, "relies on legacy common name field")
}

// hostnameParts reads the host and the names of crypto/x509's
// HostnameError texts.
func hostnameParts(text string) (host, names string) {
	lower := strings.ToLower(text)
	cut := func(after, before string) string {
		i := strings.Index(lower, after)
		if i < 0 {
			return ""
		}
		s := text[i+len(after):]
		if before != "" {
			if j := strings.Index(s, before); j >= 0 {
				s = s[:j]
			}
		}
		return strings.TrimSpace(s)
	}
	switch {
	case strings.Contains(lower, "certificate is valid for "):
		rest := cut("certificate is valid for ", "")
		if i := strings.LastIndex(rest, ", not "); i >= 0 {
			return strings.TrimSpace(rest[i+len(", not "):]), rest[:i]
		}
		return "", rest
	case strings.Contains(lower, "but wanted to match "):
		return cut("but wanted to match ", ""), ""
	case strings.Contains(lower, "cannot validate certificate for "):
		return cut("cannot validate certificate for ", " because"), ""
	}
	return "", ""
}

// alertNames are the texts TLS stacks give the alerts the classification
// knows: crypto/tls, OpenSSL and the RFC's identifiers.
var alertNames = []struct {
	text  string
	alert int
}{
	{"unknown certificate authority", AlertUnknownCA},
	{"unknown_ca", AlertUnknownCA},
	{"unknown ca", AlertUnknownCA},
	{"bad certificate", AlertBadCertificate},
	{"bad_certificate", AlertBadCertificate},
	{"expired certificate", AlertCertificateExpired},
	{"certificate expired", AlertCertificateExpired},
	{"certificate_expired", AlertCertificateExpired},
	{"certificate required", AlertCertificateRequired},
	{"certificate_required", AlertCertificateRequired},
}

// alertIn returns the alert a lower-case error text names, by name or by
// number ("alert 48", "alert(48)", "alert number 48"), or 0.
func alertIn(lower string) int {
	for _, a := range alertNames {
		if strings.Contains(lower, a.text) {
			return a.alert
		}
	}
	for s := lower; ; {
		i := strings.Index(s, "alert")
		if i < 0 {
			return 0
		}
		s = s[i+len("alert"):]
		j := 0
		for j < len(s) && j < 12 && strings.IndexByte(" \t(:#=number", s[j]) >= 0 {
			j++
		}
		k := j
		for k < len(s) && k-j < 3 && isDigit(s[k]) {
			k++
		}
		if k > j && (k == len(s) || !isDigit(s[k])) {
			switch n, _ := strconv.Atoi(s[j:k]); n {
			case AlertBadCertificate, AlertCertificateExpired, AlertUnknownCA, AlertCertificateRequired:
				return n
			}
		}
	}
}
