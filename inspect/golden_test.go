package inspect

import (
	"bytes"
	"flag"
	"os"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden.json from the current results")

// goldenOptions are the options each golden input is checked with: a
// fixed time, so that the output does not change with the day.
var goldenOptions = map[Kind]Options{
	KindCNF:      {},
	KindCert:     {Now: time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC), Host: "cucm-pub.example.com"},
	KindToken:    {Now: time.Date(2020, 3, 30, 11, 13, 19, 0, time.UTC)},
	KindHeader:   {},
	KindResponse: {},
	KindTLS:      {},
	KindLog:      {},
}

// TestGolden checks one input of each kind, detected by Auto, against the
// JSON kept in testdata; go test -run Golden -update rewrites it.
func TestGolden(t *testing.T) {
	t.Parallel()
	for _, k := range Kinds() {
		t.Run(string(k), func(t *testing.T) {
			in := readFile(t, "testdata/"+string(k)+".input")
			r, err := Auto(in, goldenOptions[k])
			if err != nil {
				t.Fatal(err)
			}
			if r.Kind != k {
				t.Fatalf("detected as %q", r.Kind)
			}
			got, err := r.JSON()
			if err != nil {
				t.Fatal(err)
			}
			name := "testdata/" + string(k) + ".golden.json"
			if *update {
				if err := os.WriteFile(name, got, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want := readFile(t, name)
			if !bytes.Equal(got, want) {
				t.Fatalf("%s differs; got:\n%s", name, got)
			}
			// CheckReader gives the same result from a stream.
			r2, err := CheckReader("", bytes.NewReader(in), goldenOptions[k])
			if err != nil {
				t.Fatal(err)
			}
			if got2, _ := r2.JSON(); !bytes.Equal(got2, want) {
				t.Fatalf("CheckReader differs:\n%s", got2)
			}
		})
	}
}
