package inspect

import (
	"errors"
	"os"
	"strings"
	"testing"
)

func TestDetect(t *testing.T) {
	t.Parallel()
	const jws = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJyYWRvIn0.c2ln"
	const jwe = "eyJhbGciOiJkaXIiLCJlbmMiOiJBMTI4Q0JDLUhTMjU2In0..aXY.Y3Q.dGFn"
	cases := []struct {
		name string
		in   string
		want Kind
		err  error
	}{
		{"empty", "", "", ErrEmpty},
		{"white space", " \r\n\t ", "", ErrEmpty},
		{"BOM and white space", "\xef\xbb\xbf \n", "", ErrEmpty},

		{"cnf", `<device  xsi:type="axl:XIPPhone"><sipOAuthMode>1</sipOAuthMode></device>`, KindCNF, nil},
		{"cnf after a declaration, a BOM and a comment", "\xef\xbb\xbf<?xml version=\"1.0\"?>\n<!-- CSFrado -->\n<device>\n</device>", KindCNF, nil},
		{"cnf, bare root", "<device/>", KindCNF, nil},
		{"xml of another root", `<?xml version="1.0"?><phone></phone>`, "", ErrUnknownKind},
		{"<devices> is not <device>", `<devices></devices>`, "", ErrUnknownKind},

		{"pem", "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n", KindCert, nil},
		{"der", "\x30\x82\x01\x0a\x30\x81", KindCert, nil},
		{"der, large", "\x30\x83\x01\x00\x00\x30", KindCert, nil},
		{"a short sequence is not a certificate", "\x30\x05\x02\x01\x01", "", ErrUnknownKind},
		{"pem after openssl's text", "subject=CN=cucm\nissuer=CN=ca\n-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----", KindCert, nil},
		{"a private key goes to the certificate check, which refuses it", "-----BEGIN PRIVATE KEY-----\nMIIB\n-----END PRIVATE KEY-----", KindCert, nil},

		{"jws", jws, KindToken, nil},
		{"jws with a newline", jws + "\n", KindToken, nil},
		{"unsigned jws", "eyJhbGciOiJub25lIn0.eyJzdWIiOiJyYWRvIn0.", KindToken, nil},
		{"jwe", jwe, KindToken, nil},
		{"Bearer and a token: the token", "Bearer " + jws, KindToken, nil},
		{"bearer, lower case, and a token", "bearer\t" + jws, KindToken, nil},
		{"four segments are not a token", "eyJh.b.c.d", "", ErrUnknownKind},
		{"not a JSON header", "abc.def.ghi", "", ErrUnknownKind},

		{"named challenge", `Proxy-Authenticate: Bearer realm="ccmsipline"`, KindHeader, nil},
		{"named credentials, any case", `proxy-authorization : Bearer token="` + jws + `"`, KindHeader, nil},
		{"WWW-Authenticate", `WWW-Authenticate: Bearer error="invalid_token"`, KindHeader, nil},
		{"Authorization", "Authorization: Bearer " + jws, KindHeader, nil},
		{"bare challenge", `Bearer realm="ccmsipline"`, KindHeader, nil},
		{"bare Cisco credentials", `Bearer token="` + jws + `"`, KindHeader, nil},
		{"Bearer and a token that is not a JWT", "Bearer mF_9.B5f-4.1JqM", KindHeader, nil},
		{"a bare scheme", "Bearer", KindHeader, nil},
		{"Digest", `Digest realm="ccmsipline", nonce="1"`, KindHeader, nil},
		{"Bearers is not a scheme", "Bearers everywhere", "", ErrUnknownKind},

		{"response", "SIP/2.0 407 Proxy Authentication Required\r\nCSeq: 1 REGISTER\r\n\r\n", KindResponse, nil},
		{"response, lower case", "sip/2.0 200 OK\n", KindResponse, nil},
		{"flattened response", `SIP/2.0 403 Forbidden Via: SIP/2.0/TLS 10.5.10.121:50347 Warning: 399 UCM2-PUB "SIP OAuth Registration port Mismatch"`, KindResponse, nil},
		{"a request is not a response", "REGISTER sip:10.10.10.1 SIP/2.0\r\n", "", ErrUnknownKind},
		{"status without digits", "SIP/2.0 OK", "", ErrUnknownKind},

		{"remote alert", "remote error: tls: unknown certificate authority", KindTLS, nil},
		{"x509", "tls: failed to verify certificate: x509: certificate signed by unknown authority", KindTLS, nil},
		{"alert number", "alert 48", KindTLS, nil},
		{"openssl", "140087:error:0A000418:SSL routines:ssl3_read_bytes:tlsv1 alert unknown ca:../ssl/record/rec_layer_s3.c:1584:SSL alert number 48", KindTLS, nil},
		{"a timestamped TLS line is a TLS error", "2024-05-01 10:00:00 edge port handshake with 10.0.0.5:41234 failed: remote error: tls: bad certificate", KindTLS, nil},
		{"edge-proxy table", "mtlstrust: no name of the peer certificate (DNS expc1.example.com) is in the edge-proxy table", KindTLS, nil},
		{"certificate required", "remote error: tls: certificate required", KindTLS, nil},

		{"jabber log", "2020-03-30 13:03:18,278 DEBUG [0x000012d8] [csf.ecc] fetchDeviceConfig() retrieved config for CSFrado", KindLog, nil},
		{"jabber log with a TLS error", "13:03:19,013 INFO sipio-sent---> REGISTER\nremote error: tls: bad certificate", KindLog, nil},
		{"timestamps only", "2020-03-30 13:03:18,278 DEBUG a\n2020-03-30 13:03:18,279 DEBUG b", KindLog, nil},
		{"many timestamped lines with a TLS error", strings.Repeat("2020-03-30 13:03:18,278 DEBUG x\n", 6) + "remote error: tls: bad certificate", KindLog, nil},
		{"a log holding a certificate", "13:03:19,013 INFO create TLS connection 10.10.10.10:5061-----10.10.10.1:5090\n-----BEGIN CERTIFICATE-----\n", KindLog, nil},

		{"prose", "hello, world", "", ErrUnknownKind},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Detect([]byte(tc.in))
			if got != tc.want || !errors.Is(err, tc.err) || (tc.err == nil) != (err == nil) {
				t.Fatalf("Detect(%q) = %q, %v; want %q, %v", tc.in, got, err, tc.want, tc.err)
			}
		})
	}
}

// TestDetectTestdata detects each golden input as the kind its name says,
// and the source document's flattened 403 as a response.
func TestDetectTestdata(t *testing.T) {
	t.Parallel()
	for _, k := range Kinds() {
		b, err := os.ReadFile("testdata/" + string(k) + ".input")
		if err != nil {
			t.Fatal(err)
		}
		if got, err := Detect(b); got != k || err != nil {
			t.Errorf("%s.input detected as %q, %v", k, got, err)
		}
	}
	b, err := os.ReadFile("testdata/response-source-flattened.txt")
	if err != nil {
		t.Fatal(err)
	}
	if got, err := Detect(b); got != KindResponse || err != nil {
		t.Errorf("the source document's 403 detected as %q, %v", got, err)
	}
}

// TestDetectLargeLog: a log of many megabytes is detected from its first
// bytes, and checked only up to its limit.
func TestDetectLargeLog(t *testing.T) {
	t.Parallel()
	line := "2020-03-30 13:03:18,278 DEBUG [0x000012d8] [csf.ecc] keep-alive\n"
	big := []byte(strings.Repeat(line, (DefaultMaxSize*2)/len(line)))
	if k, err := Detect(big); k != KindLog || err != nil {
		t.Fatalf("Detect = %q, %v", k, err)
	}
	_, err := Check(KindLog, big, Options{MaxLogSize: 1 << 20})
	if !errors.Is(err, ErrTooLarge) || err.Error() != "inspect: input larger than the limit: a log input may have at most 1048576 bytes" {
		t.Fatalf("Check = %v", err)
	}
	_, err = Check(KindToken, big, Options{})
	if !errors.Is(err, ErrTooLarge) || err.Error() != "inspect: input larger than the limit: a token input may have at most 1048576 bytes" {
		t.Fatalf("Check = %v", err)
	}
}
