package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// TestBinary builds the command as go install does (no cgo) and runs it.
func TestBinary(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go tool on PATH")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	bin := filepath.Join(t.TempDir(), "sipoauth")
	build := exec.CommandContext(ctx, goTool, "build", "-o", bin, ".")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}

	runBin := func(args ...string) (string, int) {
		t.Helper()
		cmd := exec.CommandContext(ctx, bin, args...)
		var out bytes.Buffer
		cmd.Stdout = &out
		err := cmd.Run()
		var exit *exec.ExitError
		switch {
		case err == nil:
			return out.String(), 0
		case errors.As(err, &exit):
			return out.String(), exit.ExitCode()
		}
		t.Fatalf("%v: %v", args, err)
		return "", -1
	}

	if out, code := runBin("help"); code != exitOK || out != usageText {
		t.Errorf("help: exit %d\n%s", code, out)
	}
	out, code := runBin("cnf", "targets", cnfData+"CSFrado.cnf.xml")
	want := `device CSFrado: SIP OAuth mode 1 (enabled), security mode 3 (encrypted), user rado
on-premises targets, in the order a client tries them:
  PRIORITY  HOST        PORT  TRANSPORT  OAUTH  NODE
  0         10.10.10.1  5090  TLS        yes    ccm12pub
  1         10.10.10.2  5090  TLS        yes    ccm12sub
`
	if code != exitOK || out != want {
		t.Errorf("cnf targets: exit %d\n%s", code, out)
	}
	if out, code := runBin("cnf", "check", cnfData+"bad-not-xml.cnf.xml"); code != exitUsage || !bytes.HasPrefix([]byte(out), []byte("1 finding: 1 error\nerror cnf-unreadable ")) {
		t.Errorf("cnf check: exit %d\n%s", code, out)
	}
	if _, code := runBin("nonsense"); code != exitUsage {
		t.Errorf("unknown command: exit %d", code)
	}
}
