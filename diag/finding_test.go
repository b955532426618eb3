package diag

import (
	"encoding/json"
	"reflect"
	"testing"
)

func TestFindingJSON(t *testing.T) {
	t.Parallel()
	fs := Findings{
		{Code: "oauth-port-range", Severity: Error, Path: "/device/x", Message: "port 80 is outside 1024-49151", Fix: "use 5091"},
		{Code: "legacy-port-name", Severity: Warning, Path: "/device/y", Message: "m"},
	}
	b, err := json.Marshal(fs)
	if err != nil {
		t.Fatal(err)
	}
	const want = `[{"code":"oauth-port-range","severity":"error","path":"/device/x","message":"port 80 is outside 1024-49151","fix":"use 5091"},` +
		`{"code":"legacy-port-name","severity":"warning","path":"/device/y","message":"m"}]`
	if string(b) != want {
		t.Fatalf("JSON = %s\nwant   %s", b, want)
	}
	var back Findings
	if err := json.Unmarshal(b, &back); err != nil || !reflect.DeepEqual(back, fs) {
		t.Fatalf("round trip = %#v, %v", back, err)
	}
	if err := json.Unmarshal([]byte(`[{"severity":"fatal"}]`), &back); err == nil {
		t.Fatal("unknown severity accepted")
	}
	if _, err := json.Marshal(Finding{Severity: 7}); err == nil {
		t.Fatal("unknown severity marshalled")
	}
}

func TestFindingsSeverity(t *testing.T) {
	t.Parallel()
	if m, ok := (Findings{}).Max(); ok || m != Info {
		t.Fatalf("empty Max = %v, %v", m, ok)
	}
	fs := Findings{{Code: "a", Severity: Warning}, {Code: "b", Severity: Info}}
	if fs.HasErrors() {
		t.Fatal("warnings counted as errors")
	}
	fs = append(fs, Finding{Code: "c", Severity: Error})
	if !fs.HasErrors() || !reflect.DeepEqual(fs.Codes(), []string{"a", "b", "c"}) {
		t.Fatalf("HasErrors %v, Codes %v", fs.HasErrors(), fs.Codes())
	}
	if s := fs[2].String(); s != "error c: " {
		t.Fatalf("String() = %q", s)
	}
	if s := (Finding{Code: "x", Severity: Warning, Path: "/p", Message: "m"}).String(); s != "warning x /p: m" {
		t.Fatalf("String() = %q", s)
	}
	if s := Severity(9).String(); s != "severity(9)" {
		t.Fatalf("String() = %q", s)
	}
}
