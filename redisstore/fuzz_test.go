package redisstore

import (
	"encoding/json"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sipoauth/sdk/registrar"
)

// FuzzDecodeBindings: whatever an AOR's key holds, decoding it never
// panics, and what it accepts encodes and decodes back to the same
// bindings, so a node rewrites what it read without loss.
func FuzzDecodeBindings(f *testing.F) {
	exp := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	full, _ := json.Marshal([]registrar.Binding{{
		Contact: "<sip:rado@10.10.10.10:62162;transport=tls>", Params: `+u.sip!devicename.ccm.cisco.com="CSFrado"`,
		Instance: "<urn:uuid:00000000-0000-0000-0000-00505686e0f3>", RegID: 1, CallID: "c1", CSeq: 2271,
		Expires: exp, Device: "CSFrado", User: "rado", Source: "10.10.10.10:62162"}})
	for _, seed := range []string{
		"", "[]", "null", string(full),
		`[{"contact":"sip:a@h","callId":"c","cseq":1,"expires":"2026-03-01T12:00:00Z"}]`,
		`[{"contact":"sip:a@h","cseq":4294967296}]`, `[{"expires":"yesterday"}]`,
		`{"contact":"sip:x@h"}`, "<xml/>", `["`, "[" + strings.Repeat(" ", 64) + "]",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, v string) {
		bs, err := decodeBindings("k", v)
		if err != nil {
			if !strings.Contains(err.Error(), `"k"`) {
				t.Fatalf("error %q does not name the key", err)
			}
			return
		}
		again, err := json.Marshal(bs)
		if err != nil {
			// A time.Time outside the years 0-9999 decodes but does not encode;
			// Update refuses to write it rather than lose it.
			return
		}
		back, err := decodeBindings("k", string(again))
		if err != nil || !sameBindings(back, bs) && !(len(back) == 0 && len(bs) == 0) {
			t.Fatalf("%q decoded to %+v, re-encoded as %s, decoded to %+v, %v", v, bs, again, back, err)
		}
	})
}

// FuzzParseCutoff: a user's cut-off is a decimal int64 or an error that
// names the key, never a number cut from a longer value.
func FuzzParseCutoff(f *testing.F) {
	for _, seed := range []string{
		"", "0", "-1", "1772366400000000000", "9223372036854775807", "-9223372036854775808",
		"9223372036854775808", "+5", "007", "yesterday", "1e9", " 1", strings.Repeat("9", maxCutoffLen+1),
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, v string) {
		cut, ok, err := parseCutoff("k", v)
		switch {
		case v == "":
			if ok || err != nil {
				t.Fatalf("empty value: %d, %v, %v; want none", cut, ok, err)
			}
		case err != nil:
			if ok || !strings.Contains(err.Error(), `"k"`) {
				t.Fatalf("%q: ok %v, error %q", v, ok, err)
			}
		default:
			want, perr := strconv.ParseInt(v, 10, 64)
			if !ok || perr != nil || cut != want {
				t.Fatalf("%q read as %d, %v", v, cut, ok)
			}
		}
	})
}

// The keys stay those of the nodes already running: a change here would
// split a cluster whose nodes run different versions.
func TestKeys(t *testing.T) {
	t.Parallel()
	b, r := NewBindings(nil, ""), NewRevocations(nil, "t:")
	got := []string{b.Key("rado@10.10.10.1"), r.TokenKey("j1"), r.UserKey("\u212Aelvin")}
	want := []string{"sipoauth:aor:{rado@10.10.10.1}", "t:revoked:jti:j1", "t:revoked:user:kelvin"}
	if !slices.Equal(got, want) {
		t.Errorf("keys %q, want %q", got, want)
	}
}
