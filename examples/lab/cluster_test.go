package main

import (
	"bytes"
	"context"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/sipoauth/sdk/internal/integration"
)

// TestLabCluster: -cluster tells the cluster's story with a real
// redis-server, every check passing, the steps in order.
func TestLabCluster(t *testing.T) {
	if _, err := exec.LookPath("redis-server"); err != nil {
		integration.Missing(t, "redis-server not installed; apt-get install redis-server")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var out, errs bytes.Buffer
	if code := run(ctx, []string{"-cluster"}, &out, &errs); code != 0 {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, out.String(), errs.String())
	}
	text := out.String()
	if strings.Count(text, "✓ ") != 10 || strings.Contains(text, "✗ ") || !strings.Contains(text, "OK: all 10 checks passed") {
		t.Errorf("checks:\n%s", text)
	}
	at := 0
	for _, w := range []string{"C1. A cluster", "UCM-3        OAuth port", "C2.", "CSFuser6     registered on UCM-3",
		"C3. UCM-1 stops", "CSFuser1     registered on UCM-2", "C4.", "C5. Redis dies", "REGISTER → 503 Service Unavailable, Retry-After: 5s",
		"C6.", "answers the port mismatch (403)"} {
		i := strings.Index(text[at:], w)
		if i < 0 {
			t.Fatalf("%q missing after byte %d:\n%s", w, at, text)
		}
		at += i + len(w)
	}
	if errs.Len() != 0 {
		t.Errorf("stderr:\n%s", errs.String())
	}
}

// TestLabClusterWithoutRedis: without redis-server the cluster's story
// says how to install it.
func TestLabClusterWithoutRedis(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	var out, errs bytes.Buffer
	if code := run(context.Background(), []string{"-cluster"}, &out, &errs); code != 1 || !strings.Contains(errs.String(), "apt-get install redis-server") {
		t.Fatalf("exit %d, stderr %q", code, errs.String())
	}
}
