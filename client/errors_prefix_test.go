package client

import (
	"errors"
	"strings"
	"testing"

	"github.com/sipoauth/sdk/cnfxml"
)

// TestErrorsOnePrefix: an error of this package inside another reads
// with one "client: ", not "client: ... client: ...".
func TestErrorsOnePrefix(t *testing.T) {
	tg := Target{Target: cnfxml.Target{Host: "ucm1", Port: 5090, Transport: "TLS"}}
	src := errors.New("client: token source: refresh refused")
	rej := &RejectedError{Target: tg, Status: 401, Reason: "Unauthorized", Err: src}
	te := &TargetError{Target: tg, Op: "dial", Err: errors.New("client: no route")}
	all := &AllTargetsFailedError{Errs: []error{rej, te}}
	for _, err := range []error{rej, te, all} {
		if s := err.Error(); strings.Count(s, "client: ") != 1 || !strings.HasPrefix(s, "client: ") {
			t.Errorf("%q", s)
		}
	}
	if !errors.Is(rej, src) || !strings.Contains(all.Error(), "token source: refresh refused") {
		t.Errorf("%v", all)
	}
	if s := (&TargetError{Target: tg, Op: "dial"}).Error(); !strings.HasSuffix(s, "dial: <nil>") {
		t.Errorf("%q", s)
	}
}
