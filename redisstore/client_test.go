package redisstore

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sipoauth/sdk/internal/testca"
	"github.com/sipoauth/sdk/internal/testredis"
	"github.com/sipoauth/sdk/registrar"
)

// roundTrip writes a binding through a client of url and reads it back
// through another, as two nodes would.
func roundTrip(t *testing.T, url string, tlsConfig *tls.Config) {
	t.Helper()
	ctx := testCtx(t, 20*time.Second)
	a, err := NewClient(url, tlsConfig)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := NewClient(url, tlsConfig)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	aor := "rado@" + strings.ReplaceAll(t.Name(), "/", ".")
	if _, err := NewBindings(a, "").Update(ctx, aor, registrar.Update{Now: time.Now(), CallID: "c", CSeq: 1, Device: "CSFrado",
		Changes: []registrar.Change{change("sip:rado@10.0.0.1:5060", time.Hour)}}); err != nil {
		t.Fatalf("%s: write: %v", Redact(url), err)
	}
	bs, err := NewBindings(b, "").Lookup(ctx, aor)
	if err != nil || len(bs) != 1 || bs[0].Contact != "sip:rado@10.0.0.1:5060" {
		t.Fatalf("%s: read back %+v, %v", Redact(url), bs, err)
	}
}

// TestNewClientDeployments: each form of URL reaches the deployment it
// names, on real servers: an ACL user, a password alone, TLS with a
// client certificate, Sentinel (and its failover to a replica when the
// master dies), Redis Cluster; a wrong password fails.
func TestNewClientDeployments(t *testing.T) {
	t.Parallel()
	t.Run("acl", func(t *testing.T) {
		t.Parallel()
		srv := testredis.StartConfig(t, testredis.Config{Username: "sipoauth", Password: "n0de-secret"})
		roundTrip(t, "redis://sipoauth:n0de-secret@"+srv.Addr()+"/0", nil)
		c, _ := NewClient("redis://sipoauth:wrong@"+srv.Addr(), nil)
		defer c.Close()
		if err := c.Ping(context.Background()).Err(); err == nil || !strings.Contains(err.Error(), "WRONGPASS") {
			t.Errorf("wrong password: %v", err)
		}
	})
	t.Run("requirepass", func(t *testing.T) {
		t.Parallel()
		srv := testredis.StartConfig(t, testredis.Config{Password: "only-a-password"})
		roundTrip(t, "redis://:only-a-password@"+srv.Addr(), nil)
	})
	t.Run("tls", func(t *testing.T) {
		t.Parallel()
		ca := testca.New(t, "Redis CA")
		dir := t.TempDir()
		caFile := filepath.Join(dir, "ca.pem")
		if err := os.WriteFile(caFile, testca.CertPEM(ca.Cert), 0o600); err != nil {
			t.Fatal(err)
		}
		roots := x509.NewCertPool()
		roots.AddCert(ca.Cert)
		client := ca.Client(t, "node1").TLS()
		srvCert := ca.Server(t, "localhost", "127.0.0.1").TLS()
		clientTLS := &tls.Config{RootCAs: roots, Certificates: []tls.Certificate{client}, ServerName: "localhost"}
		srv := testredis.StartConfig(t, testredis.Config{Dir: dir, TLSCert: &srvCert, TLSClientCAFile: caFile, ClientTLS: clientTLS})
		roundTrip(t, "rediss://localhost:"+strings.Split(srv.Addr(), ":")[1], &tls.Config{RootCAs: roots, Certificates: []tls.Certificate{client}})
		// Without the client certificate, Redis refuses the handshake.
		c, _ := NewClient("rediss://localhost:"+strings.Split(srv.Addr(), ":")[1], &tls.Config{RootCAs: roots})
		defer c.Close()
		if err := c.Ping(context.Background()).Err(); err == nil {
			t.Error("a client without a certificate was let in")
		}
	})
	t.Run("sentinel", func(t *testing.T) {
		t.Parallel()
		master := testredis.StartConfig(t, testredis.Config{Username: "sipoauth", Password: "n0de-secret"})
		sentinel := testredis.StartSentinel(t, master, "sipmaster")
		// The sentinel takes no password; the master's are given apart.
		roundTrip(t, "redis://"+sentinel+"?master_name=sipmaster&username=sipoauth&password=n0de-secret", nil)
	})
	t.Run("sentinel failover", func(t *testing.T) {
		t.Parallel()
		master := testredis.StartConfig(t, testredis.Config{})
		replica := testredis.StartConfig(t, testredis.Config{Args: []string{"--replicaof", "127.0.0.1", strings.Split(master.Addr(), ":")[1]}})
		sentinel := testredis.StartSentinel(t, master, "sipmaster")
		ctx := testCtx(t, 60*time.Second)
		c, err := NewClient("redis://"+sentinel+"?master_name=sipmaster", nil)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		store := NewBindings(c, "")
		write := func(aor string) error {
			_, err := store.Update(ctx, aor, registrar.Update{Now: time.Now(), CallID: "c", CSeq: 1, Device: "CSFrado",
				Changes: []registrar.Change{change("sip:rado@10.0.0.1:5060", time.Hour)}})
			return err
		}
		if err := write("before"); err != nil {
			t.Fatal(err)
		}
		// The replica has it before the master goes.
		if n, err := master.Client().Do(ctx, "WAIT", 1, 5000).Int(); err != nil || n != 1 {
			t.Fatalf("WAIT: %d replicas, %v", n, err)
		}
		master.Kill()
		start := time.Now()
		for write("after") != nil {
			if time.Since(start) > 45*time.Second {
				t.Fatal("no write through Sentinel within 45 s of the master's death")
			}
			time.Sleep(200 * time.Millisecond)
		}
		t.Logf("writes went on %v after the master died, on the replica Sentinel promoted", time.Since(start).Round(time.Millisecond))
		for _, aor := range []string{"before", "after"} {
			if bs, err := store.Lookup(ctx, aor); err != nil || len(bs) != 1 {
				t.Errorf("%s after the failover: %+v, %v", aor, bs, err)
			}
		}
		if role, err := replica.Client().Do(ctx, "ROLE").Slice(); err != nil || len(role) == 0 || role[0] != "master" {
			t.Errorf("the replica's role after the failover: %v, %v", role, err)
		}
	})
	t.Run("cluster", func(t *testing.T) {
		t.Parallel()
		nodes := testredis.StartCluster(t, 3)
		url := "redis+cluster://" + nodes[0].Addr() + "?addr=" + nodes[1].Addr()
		roundTrip(t, url, nil)
		// Pub/sub reaches every node's mirror across the cluster.
		ctx := testCtx(t, 20*time.Second)
		ca, _ := NewClient(url, nil)
		cb, _ := NewClient(url, nil)
		defer ca.Close()
		defer cb.Close()
		a, b := NewDevices(ca, ""), NewDevices(cb, "")
		run(t, ctx, b.Run)
		pollUntil(t, 5*time.Second, "node B read the devices", b.Ready)
		if err := a.Put(ctx, registrar.Device{Name: "CSFrado", Owner: "rado", OAuth: true}); err != nil {
			t.Fatal(err)
		}
		pollUntil(t, time.Second, "node B has the device", func() bool { _, ok, _ := b.Device(ctx, "CSFrado"); return ok })
	})
}

func TestNewClientURLs(t *testing.T) {
	t.Parallel()
	for bad, want := range map[string]string{
		"http://h:6379":                     "want redis://",
		"redis://h:6379?no_such_option=1":   "unexpected option",
		"redis+cluster://h:1?master_name=x": "master_name is for Sentinel",
		"redis+cluster://h:1/3":             "database 0 only",
		"redis://h:1?master_name=":          "master_name is empty",
		"redis://h:1/0?addr=h:2":            "addr= lists more servers",
		"::":                                "",
	} {
		c, err := NewClient(bad, nil)
		if err == nil {
			c.Close()
			t.Errorf("%q: no error", bad)
		} else if !strings.Contains(err.Error(), want) {
			t.Errorf("%q: %v, want %q", bad, err, want)
		}
	}
	if c, err := NewClient("redis+cluster://h:1/0?addr=h:2", nil); err != nil {
		t.Errorf("a cluster URL with database 0: %v", err)
	} else {
		c.Close()
	}
	for in, want := range map[string]string{
		"redis://u:secret@h:6379/0":                            "redis://u:xxxxx@h:6379/0",
		"redis://h:1?master_name=m&password=secret&username=u": "redis://h:1?master_name=m&password=xxxxx&username=u",
		"rediss+cluster://:pw@h:1?addr=h:2":                    "rediss+cluster://:xxxxx@h:1?addr=h%3A2",
	} {
		if got := Redact(in); got != want || strings.Contains(got, "secret") {
			t.Errorf("Redact(%q) = %q, want %q", in, got, want)
		}
	}
}
