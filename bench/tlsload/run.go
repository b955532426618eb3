package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// loadRun opens the connections, starts registrations at the target rate
// for the duration, spread over the connections, waits for them to end and
// prints the report.
func (cl *client) loadRun(ctx context.Context, w io.Writer) error {
	c := cl.cfg
	conns, nfail, errs := cl.openConns(ctx, c.conns, nil)
	if len(conns) == 0 {
		return fmt.Errorf("no connection to %s opened: %v", cl.target, errors.Join(errs...))
	}
	if nfail > 0 {
		fmt.Fprintf(w, "opened %d of %d connections; first errors: %v\n", len(conns), c.conns, errors.Join(errs...))
	}
	total := int(c.rate * c.duration.Seconds())
	if total < 1 {
		total = 1
	}
	jobs := make(chan time.Time, min(total, 1<<16))

	type workerStats struct {
		h        histogram
		ok, fail int64
		maxLag   time.Duration
		errs     []error
	}
	stats := make([]workerStats, len(conns))
	cpu0, self0 := cpuTicks(cl.pids), selfCPU()
	start := time.Now()
	var wg sync.WaitGroup
	for i, cn := range conns {
		wg.Go(func() {
			s := &stats[i]
			for at := range jobs {
				s.maxLag = max(s.maxLag, time.Since(at))
				if cn == nil {
					var err error
					if cn, err = cl.dial(ctx); err != nil {
						cn = nil
						s.fail++
						if len(s.errs) < 3 {
							s.errs = append(s.errs, fmt.Errorf("reconnect: %w", err))
						}
						continue
					}
				}
				t := time.Now()
				err := cl.register(cn, cl.nextCred())
				if err == nil {
					s.ok++
					s.h.add(time.Since(t))
					continue
				}
				s.fail++
				if len(s.errs) < 3 {
					s.errs = append(s.errs, err)
				}
				if !errors.Is(err, errStatus) {
					cn.close()
					cn = nil
				}
			}
			if cn != nil {
				cn.close()
			}
		})
	}
	// the schedule: job i starts at start + i/rate
	var issued atomic.Int64
	func() {
		defer close(jobs)
		for i := range total {
			at := start.Add(time.Duration(float64(i) / c.rate * float64(time.Second)))
			if d := time.Until(at); d > time.Millisecond {
				time.Sleep(d)
			}
			select {
			case jobs <- at:
				issued.Add(1)
			case <-ctx.Done():
				return
			}
		}
	}()
	wg.Wait()
	wall := time.Since(start)
	cpu1, self1 := cpuTicks(cl.pids), selfCPU()
	mem := memoryOf(processTree(c.pid))

	var h histogram
	var ok, fail int64
	var lag time.Duration
	var allErrs []error
	for i := range stats {
		h.merge(&stats[i].h)
		ok += stats[i].ok
		fail += stats[i].fail
		lag = max(lag, stats[i].maxLag)
		if len(allErrs) < 5 {
			allErrs = append(allErrs, stats[i].errs...)
		}
	}
	achieved := float64(ok) / wall.Seconds()
	pass := fail == 0 && ok == int64(total) && achieved >= 0.9*c.rate
	srvCPU := float64(cpu1-cpu0) / clockTicks
	fmt.Fprintf(w, "target %s, %s, %d connections, %.0f registrations/s for %s: %d of %d registered, %d failed in %.2f s = %.0f/s\n",
		cl.target, c.auth, len(conns), c.rate, c.duration, ok, total, fail, wall.Seconds(), achieved)
	fmt.Fprintf(w, "latency REGISTER -> 200 (two round trips): p50 %.2f ms, p90 %.2f ms, p99 %.2f ms, max %.2f ms; largest start lag %.1f ms\n",
		ms(h.quantile(0.5)), ms(h.quantile(0.9)), ms(h.quantile(0.99)), ms(h.max), ms(lag))
	perReg := 0.0
	if ok > 0 {
		perReg = srvCPU / float64(ok) * 1e6
	}
	if c.pid > 0 {
		fmt.Fprintf(w, "server (%d processes): CPU %.2f s = %.0f %% of a core, %.1f µs per registration; RSS %.1f MB, PSS %.1f MB\n",
			len(cl.pids), srvCPU, srvCPU/wall.Seconds()*100, perReg, float64(mem.rss)/1024, float64(mem.pss)/1024)
	}
	fmt.Fprintf(w, "tlsload CPU %.2f s\n", (self1 - self0).Seconds())
	if len(allErrs) > 0 {
		fmt.Fprintf(w, "first errors: %v\n", errors.Join(allErrs...))
	}
	fmt.Fprintf(w, "result mode=load auth=%s conns=%d rate=%.0f duration_s=%.1f total=%d ok=%d failed=%d wall_s=%.3f achieved=%.0f p50_ms=%.2f p90_ms=%.2f p99_ms=%.2f max_ms=%.2f srv_cpu_s=%.2f srv_cpu_pct=%.0f srv_cpu_us_per_reg=%.1f srv_rss_mb=%.1f srv_pss_mb=%.1f pass=%s\n",
		c.auth, len(conns), c.rate, c.duration.Seconds(), total, ok, fail, wall.Seconds(), achieved,
		ms(h.quantile(0.5)), ms(h.quantile(0.9)), ms(h.quantile(0.99)), ms(h.max),
		srvCPU, srvCPU/wall.Seconds()*100, perReg, float64(mem.rss)/1024, float64(mem.pss)/1024, map[bool]string{true: "PASS", false: "FAIL"}[pass])
	return ctx.Err()
}

// idleRun opens c.idle connections, registers one device on each, holds
// them for c.hold and reports how much the server's memory grew per
// connection.
func (cl *client) idleRun(ctx context.Context, w io.Writer) error {
	c := cl.cfg
	if c.pid <= 0 {
		return errors.New("-idle needs -pid, the server whose memory is measured")
	}
	pids := processTree(c.pid)
	before := memoryOf(pids)
	start := time.Now()
	var registered atomic.Int64
	conns, nfail, errs := cl.openConns(ctx, c.idle, func(i int, cn *conn) error {
		if err := cl.register(cn, cl.creds[i%len(cl.creds)]); err != nil {
			return fmt.Errorf("register: %w", err)
		}
		registered.Add(1)
		return nil
	})
	defer func() {
		for _, cn := range conns {
			cn.close()
		}
	}()
	setup := time.Since(start)
	select {
	case <-time.After(c.hold):
	case <-ctx.Done():
		return ctx.Err()
	}
	after := memoryOf(processTree(c.pid))
	n := int64(len(conns))
	per := func(a, b int64) float64 {
		if n == 0 {
			return 0
		}
		return float64(b-a) / float64(n)
	}
	fmt.Fprintf(w, "target %s, %s: %d of %d connections open, %d registered, %d failed, in %.1f s\n",
		cl.target, c.auth, n, c.idle, registered.Load(), nfail, setup.Seconds())
	if len(errs) > 0 {
		fmt.Fprintf(w, "first errors: %v\n", errors.Join(errs...))
	}
	fmt.Fprintf(w, "server (%d processes): RSS %.1f MB before, %.1f MB after = %.1f KiB per connection; PSS %.1f MB -> %.1f MB = %.1f KiB per connection\n",
		len(pids), float64(before.rss)/1024, float64(after.rss)/1024, per(before.rss, after.rss),
		float64(before.pss)/1024, float64(after.pss)/1024, per(before.pss, after.pss))
	fmt.Fprintf(w, "result mode=idle auth=%s conns=%d open=%d registered=%d failed=%d setup_s=%.1f rss_before_mb=%.1f rss_after_mb=%.1f rss_per_conn_kb=%.1f pss_before_mb=%.1f pss_after_mb=%.1f pss_per_conn_kb=%.1f\n",
		c.auth, c.idle, n, registered.Load(), nfail, setup.Seconds(), float64(before.rss)/1024, float64(after.rss)/1024, per(before.rss, after.rss),
		float64(before.pss)/1024, float64(after.pss)/1024, per(before.pss, after.pss))
	return nil
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// selfCPU is this process's user and system CPU time.
func selfCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
