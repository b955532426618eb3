package testredis

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sipoauth/sdk/internal/syncbuf"
)

// StartSentinel starts a Sentinel (redis-server --sentinel) watching
// master under name, on a loopback port, stopped when the test ends, and
// returns its address once it names the master.
func StartSentinel(t testing.TB, master *Server, name string) string {
	t.Helper()
	bin := lookPath(t, "redis-server")
	dir := t.TempDir()
	port := freePort(t)
	conf := fmt.Sprintf("port %d\nbind 127.0.0.1\ndir %s\nsentinel monitor %s 127.0.0.1 %d 1\nsentinel down-after-milliseconds %s 2000\n",
		port, dir, name, master.port, name)
	if master.cfg.Password != "" {
		if master.cfg.Username != "" {
			conf += fmt.Sprintf("sentinel auth-user %s %s\n", name, master.cfg.Username)
		}
		conf += fmt.Sprintf("sentinel auth-pass %s %s\n", name, master.cfg.Password)
	}
	path := filepath.Join(dir, "sentinel.conf")
	if err := os.WriteFile(path, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	log := new(syncbuf.Buffer)
	cmd := exec.Command(bin, path, "--sentinel")
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	t.Cleanup(func() { _ = cmd.Process.Kill(); <-done })

	addr := "127.0.0.1:" + strconv.Itoa(port)
	sc := redis.NewSentinelClient(&redis.Options{Addr: addr, DialTimeout: time.Second, ReadTimeout: time.Second, DisableIdentity: true})
	defer sc.Close()
	want := master.Addr()
	deadline := time.Now().Add(10 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		got, err := sc.GetMasterAddrByName(ctx, name).Result()
		cancel()
		if err == nil && len(got) == 2 && got[0]+":"+got[1] == want {
			return addr
		}
		select {
		case <-done:
			t.Fatalf("redis-server --sentinel exited: %v\n%s", cmd.ProcessState, log)
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("the sentinel did not name its master within 10s (%v, %v)\n%s", got, err, log)
		}
	}
}

// StartCluster starts n redis-servers (at least 3) as one Redis Cluster
// without replicas, its slots spread over them by redis-cli, and returns
// their addresses once the cluster is up.
func StartCluster(t testing.TB, n int) []*Server {
	t.Helper()
	cli := lookPath(t, "redis-cli")
	servers := make([]*Server, n)
	args := []string{"--cluster", "create"}
	for i := range servers {
		servers[i] = StartConfig(t, Config{Args: []string{"--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf", "--cluster-node-timeout", "2000"}})
		args = append(args, servers[i].Addr())
	}
	args = append(args, "--cluster-replicas", "0", "--cluster-yes")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if out, err := exec.CommandContext(ctx, cli, args...).CombinedOutput(); err != nil {
		t.Fatalf("redis-cli --cluster create: %v\n%s", err, out)
	}
	deadline := time.Now().Add(15 * time.Second)
	for _, s := range servers {
		c := redis.NewClient(s.Options())
		for {
			info, err := c.ClusterInfo(ctx).Result()
			if err == nil && strings.Contains(info, "cluster_state:ok") {
				break
			}
			if time.Now().After(deadline) {
				c.Close()
				t.Fatalf("cluster not up on %s within 15s: %v\n%s", s.Addr(), err, info)
			}
			time.Sleep(50 * time.Millisecond)
		}
		c.Close()
	}
	return servers
}
