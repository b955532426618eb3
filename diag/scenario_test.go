package diag

import (
	"slices"
	"strings"
	"testing"
)

func TestPortMismatchCauses(t *testing.T) {
	t.Parallel()
	codes := func(fs Findings) []string { return fs.Codes() }
	got := PortMismatchCauses(5190, false)
	if want := []string{CodeProfileWithoutOAuth, CodeOAuthDisabled, CodeWrongConnectionKind}; !slices.Equal(codes(got), want) {
		t.Fatalf("codes %v, want %v", codes(got), want)
	}
	if got[0].Message != "the device's security profile does not enable OAuth, so the device may not register on port 5190" || got[0].Path != "Warning" || got[0].Severity != Error {
		t.Fatalf("profile cause: %+v", got[0])
	}
	for _, f := range got {
		if f.Fix == "" {
			t.Errorf("%s has no fix", f.Code)
		}
	}
	cert := PortMismatchCauses(5090, true)
	if want := []string{CodeWrongConnectionKind, CodeProfileWithoutOAuth, CodeOAuthDisabled}; !slices.Equal(codes(cert), want) {
		t.Fatalf("with a client certificate: codes %v, want %v", codes(cert), want)
	}
	if !strings.HasSuffix(cert[0].Message, "; this client presented a certificate") {
		t.Fatalf("connection cause: %q", cert[0].Message)
	}
}
