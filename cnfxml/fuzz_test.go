package cnfxml

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

// FuzzParse checks that Parse never panics, and that a file it accepts is
// written back to a file that parses to the same model, and that the
// writing is stable.
func FuzzParse(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.cnf.xml")
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	for _, s := range []string{
		`<device/>`,
		`<device  a="1"   b='2'><x/><y></y><!-- c --><![CDATA[<z>]]></device>`,
		`<?xml version="1.0"?><device xsi:type="axl:XIPPhone"><sipOAuthMode>1</sipOAuthMode></device>`,
		`<device><devicePool><callManagerGroup><members><member priority="1"><callManager><ports><sipMAOAuthPort>5091</sipMAOAuthPort></ports></callManager></member></members></callManagerGroup></devicePool></device>`,
		`<device><sipProfile><sipLines><line button="1"><authName>a</authName></line></sipLines></sipProfile></device>`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		keepGoing(t, in)
		c, err := Parse(in)
		if err != nil {
			return
		}
		_ = c.Validate()
		_ = Targets(c, MRA)
		out := c.Bytes()
		again, err := Parse(out)
		if err != nil {
			t.Fatalf("written file does not parse: %v\nin:  %q\nout: %q", err, in, out)
		}
		if !reflect.DeepEqual(model(again), model(c)) {
			t.Fatalf("model changed:\n first %+v\nsecond %+v", model(c), model(again))
		}
		if out2 := again.Bytes(); string(out2) != string(out) {
			t.Fatalf("second write differs:\n%q\n%q", out, out2)
		}
	})
}

// keepGoing checks a KeepGoing parse of in: it fails only where a strict
// parse fails for another reason than a field, agrees with a strict parse
// that succeeds, and writes a file that reads back to the same model and
// the same field errors.
func keepGoing(t *testing.T, in []byte) {
	c, err := Reader{KeepGoing: true}.Parse(in)
	strict, serr := Parse(in)
	if err != nil {
		if serr == nil {
			t.Fatalf("KeepGoing fails (%v) where Parse does not", err)
		}
		return
	}
	if serr == nil && (len(c.FieldErrors) != 0 || !reflect.DeepEqual(model(c), model(strict))) {
		t.Fatalf("KeepGoing differs from Parse: %v", c.FieldErrors)
	}
	if serr != nil && len(c.FieldErrors) == 0 {
		t.Fatalf("Parse fails (%v) and KeepGoing notes no field", serr)
	}
	fs := c.Validate()
	if len(fs) < len(c.FieldErrors) {
		t.Fatalf("%d findings for %d field errors", len(fs), len(c.FieldErrors))
	}
	again, err := Reader{KeepGoing: true}.Parse(c.Bytes())
	if err != nil {
		t.Fatalf("written file does not parse: %v", err)
	}
	if !reflect.DeepEqual(model(again), model(c)) || len(again.FieldErrors) != len(c.FieldErrors) {
		t.Fatalf("model changed:\n first %+v\nsecond %+v", model(c), model(again))
	}
}
