package edge_test

import (
	"bufio"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"log"
	"math/big"
	"net"
	"strings"
	"time"

	"github.com/sipoauth/sdk/edge"
	"github.com/sipoauth/sdk/mtlstrust"
)

// selfSigned makes a certificate for name that serves as both client and
// server certificate; a deployment loads its own with
// mtlstrust.LoadCertSource.
func selfSigned(name string) (tls.Certificate, *x509.Certificate) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		log.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: name}, DNSNames: []string{name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth, x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		log.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: cert}, cert
}

// A proxy whose only node cannot be reached answers the client 503 with a
// Warning and Retry-After, and tells the caller why.
func Example() {
	tc, cert := selfSigned("expc1.example.com")
	source, err := mtlstrust.NewCertSource(tc)
	if err != nil {
		log.Fatal(err)
	}
	// An address where no node listens.
	l, _ := net.Listen("tcp", "127.0.0.1:0")
	down := l.Addr().String()
	l.Close()

	px, err := edge.New(edge.Config{
		Name:        "expc1",
		Certificate: source,
		NodeTrust:   mtlstrust.NewTrustStore(cert), // the nodes' signers
		Upstreams:   []string{down},
		OnFailure: func(f edge.Failure) {
			fmt.Println("failure:", f.Code(), "scenario", f.Scenario)
		},
	})
	if err != nil {
		log.Fatal(err)
	}
	defer px.Close()
	ln, err := px.Listen("127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	go px.Serve(ln)

	// A soft client, byte by byte.
	roots := x509.NewCertPool()
	roots.AddCert(cert)
	conn, err := tls.Dial("tcp", ln.Addr().String(), &tls.Config{RootCAs: roots, ServerName: "expc1.example.com"})
	if err != nil {
		log.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	fmt.Fprint(conn, "REGISTER sip:ucm.example.com SIP/2.0\r\n"+
		"Via: SIP/2.0/TLS 10.0.0.5:50123;branch=z9hG4bK776asdhds\r\n"+
		"Max-Forwards: 70\r\n"+
		"From: <sip:rado@ucm.example.com>;tag=1928301774\r\n"+
		"To: <sip:rado@ucm.example.com>\r\n"+
		"Call-ID: a84b4c76e66710@10.0.0.5\r\n"+
		"CSeq: 1 REGISTER\r\n"+
		"Contact: <sip:rado@10.0.0.5:50123;transport=tls>;+u.sip!devicename.ccm.cisco.com=\"CSFrado\"\r\n"+
		"Expires: 3600\r\n"+
		"Content-Length: 0\r\n\r\n")
	r := bufio.NewReader(conn)
	for {
		line, err := r.ReadString('\n')
		if err != nil || line == "\r\n" {
			break
		}
		if strings.HasPrefix(line, "SIP/2.0") || strings.HasPrefix(line, "Warning:") || strings.HasPrefix(line, "Retry-After:") {
			fmt.Print(strings.TrimRight(line, "\r\n"), "\n")
		}
	}
	// Output:
	// failure: upstream-unreachable scenario 0
	// SIP/2.0 503 Service Unavailable
	// Warning: 399 expc1 "Registrar unreachable"
	// Retry-After: 30
}
