package inspect

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"reflect"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/sipoauth/sdk/clientlog"
	"github.com/sipoauth/sdk/diag"
)

func TestCheckErrors(t *testing.T) {
	t.Parallel()
	if _, err := Check("pcap", []byte("x"), Options{}); !errors.Is(err, ErrUnknownKind) || err.Error() != `inspect: cannot tell what the input is: unknown kind "pcap"` {
		t.Fatalf("unknown kind: %v", err)
	}
	for _, k := range Kinds() {
		if _, err := Check(k, []byte(" \r\n"), Options{}); err != ErrEmpty {
			t.Errorf("%s: empty input: %v", k, err)
		}
	}
	if _, err := Auto([]byte("hello"), Options{}); err != ErrUnknownKind {
		t.Fatalf("Auto: %v", err)
	}
	if _, err := Check(KindCNF, make([]byte, 100), Options{MaxSize: 99}); !errors.Is(err, ErrTooLarge) ||
		err.Error() != "inspect: input larger than the limit: a cnf input may have at most 99 bytes" {
		t.Fatalf("too large: %v", err)
	}
}

// TestJSONShape: findings are always an array, and the fields come in
// the order they are declared.
func TestJSONShape(t *testing.T) {
	t.Parallel()
	r, err := Check(KindTLS, []byte("alert 48"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	const want = `{"kind":"tls","findings":[{"code":"unknown-ca-at-node","severity":"error","path":"tls",` +
		`"message":"the node refused the edge proxy's certificate: unknown certificate authority",` +
		`"fix":"upload the CA that signed the Expressway-C certificate to the node's tomcat-trust"}],` +
		`"tls":{"side":"edge","alert":48,"remote":true,"scenario":3}}`
	if string(b) != want {
		t.Fatalf("got  %s\nwant %s", b, want)
	}
	r, err = Check(KindCNF, readFile(t, "testdata/cnf.input"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := r.JSON(); !bytes.HasPrefix(b, []byte("{\n  \"kind\": \"cnf\",\n  \"findings\": [],\n  \"cnf\": {")) || !bytes.HasSuffix(b, []byte("}\n")) {
		t.Fatalf("JSON:\n%s", b)
	}
	// HTML characters are kept as they are.
	r, _ = Check(KindCNF, []byte("<device>\n<a></b></device>"), Options{})
	if b, _ := r.JSON(); !bytes.Contains(b, []byte("element <a> closed by </b> at line 2")) || bytes.Contains(b, []byte(`\u003c`)) {
		t.Fatalf("JSON:\n%s", b)
	}
}

func TestCheckLog(t *testing.T) {
	t.Parallel()
	in := readFile(t, "testdata/log.input")
	r, err := Check(KindLog, in, Options{})
	if err != nil {
		t.Fatal(err)
	}
	rep, err := clientlog.Analyze(bytes.NewReader(in), clientlog.Options{})
	if err != nil {
		t.Fatal(err)
	}
	want := rep.Findings
	if want == nil {
		want = diag.Findings{}
	}
	if r.Kind != KindLog || !reflect.DeepEqual(r.Log, rep) || !reflect.DeepEqual(r.Findings, want) {
		t.Fatalf("got %+v\nwant %+v", r, rep)
	}
	if r.Log.Bytes != int64(len(in)) || len(r.Log.Timeline) == 0 {
		t.Fatalf("report: %d bytes, %d events", r.Log.Bytes, len(r.Log.Timeline))
	}
}

func TestCheckReader(t *testing.T) {
	t.Parallel()
	in := readFile(t, "testdata/log.input")
	// A log streamed in small reads, kind detected.
	r, err := CheckReader("", iotest.HalfReader(bytes.NewReader(in)), Options{})
	if err != nil || r.Kind != KindLog || r.Log.Bytes != int64(len(in)) {
		t.Fatalf("log: %v, %+v", err, r)
	}
	// A log over the limit is refused, not analyzed in part.
	if _, err := CheckReader(KindLog, bytes.NewReader(in), Options{MaxLogSize: int64(len(in)) - 1}); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("log over the limit: %v", err)
	}
	// A log of exactly the limit is not.
	if _, err := CheckReader(KindLog, bytes.NewReader(in), Options{MaxLogSize: int64(len(in))}); err != nil {
		t.Fatalf("log at the limit: %v", err)
	}
	// Other kinds are read whole, within their limit.
	tok := readFile(t, "testdata/token.input")
	if r, err := CheckReader(KindToken, bytes.NewReader(tok), Options{Now: issued}); err != nil || r.Token.Subject != "rado" {
		t.Fatalf("token: %v %+v", err, r)
	}
	if _, err := CheckReader(KindToken, bytes.NewReader(tok), Options{MaxSize: 100}); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("token over the limit: %v", err)
	}
	// A long input of another kind is refused after reading one byte
	// past the limit, whatever its size.
	if _, err := CheckReader("", io.MultiReader(strings.NewReader("remote error: "), neverEnding('x')), Options{}); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("endless TLS text: %v", err)
	}
	for _, in := range []string{"", "  \n"} {
		if _, err := CheckReader("", strings.NewReader(in), Options{}); err != ErrEmpty {
			t.Fatalf("empty %q: %v", in, err)
		}
		if _, err := CheckReader(KindLog, strings.NewReader(in), Options{}); err != ErrEmpty {
			t.Fatalf("empty log %q: %v", in, err)
		}
	}
	if _, err := CheckReader("", iotest.ErrReader(errors.New("disk on fire")), Options{}); err == nil || err.Error() != "inspect: reading: disk on fire" {
		t.Fatalf("read error: %v", err)
	}
}

type neverEnding byte

func (b neverEnding) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = byte(b)
	}
	return len(p), nil
}
