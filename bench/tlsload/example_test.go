package main

import (
	"context"
	"fmt"
	"os"
	"strings"
	"time"
)

// A short load against a small TLS registrar on 127.0.0.1: 2 connections,
// 100 registrations per second for 200 ms, each REGISTER -> 407 ->
// REGISTER with a bearer token -> 200.
func Example() {
	dir, err := os.MkdirTemp("", "tlsload-example")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(dir)
	creds, secrets, err := writeCredsIn(dir, "bearer", 10)
	if err != nil {
		fmt.Println(err)
		return
	}
	srv, err := startTestServer(dir, "bearer", secrets)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer srv.close()
	var out strings.Builder
	err = run(context.Background(), config{
		target: srv.addr, auth: "bearer", creds: creds, ca: srv.caFile,
		conns: 2, rate: 100, duration: 200 * time.Millisecond,
		connectRate: 100, timeout: 2 * time.Second, expires: 120,
	}, &out)
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, f := range strings.Fields(out.String()) {
		if strings.HasPrefix(f, "ok=") || strings.HasPrefix(f, "failed=") || strings.HasPrefix(f, "pass=") {
			fmt.Println(f)
		}
	}
	// Output:
	// ok=20
	// failed=0
	// pass=PASS
}

// Only this machine may be loaded.
func Example_loopbackOnly() {
	c := config{target: "192.0.2.10:5061", auth: "bearer", creds: "bearer.csv", conns: 1, rate: 1, duration: time.Second, connectRate: 1, timeout: time.Second}
	fmt.Println(c.check())
	// Output:
	// -target "192.0.2.10:5061": refused: only 127.0.0.1 or ::1 may be loaded
}
