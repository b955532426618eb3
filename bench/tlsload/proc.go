package main

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// clockTicks is USER_HZ, the unit of utime and stime in /proc/PID/stat:
// 100 on every Linux architecture Go supports.
const clockTicks = 100

// processTree is pid and its descendants, read from /proc.
func processTree(pid int) []int {
	if pid <= 0 {
		return nil
	}
	parent := map[int]int{}
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		p, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if _, pp, ok := statFields(p); ok {
			parent[p] = pp
		}
	}
	out := []int{pid}
	for i := 0; i < len(out); i++ {
		for p, pp := range parent {
			if pp == out[i] {
				out = append(out, p)
			}
		}
	}
	return out
}

// statFields reads the utime+stime ticks and the parent PID of pid.
func statFields(pid int) (ticks int64, ppid int, ok bool) {
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		return 0, 0, false
	}
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, 0, false
	}
	f := strings.Fields(string(b[i+1:]))
	// after the command: state(0) ppid(1) ... utime(11) stime(12)
	if len(f) < 13 {
		return 0, 0, false
	}
	pp, _ := strconv.Atoi(f[1])
	u, _ := strconv.ParseInt(f[11], 10, 64)
	s, _ := strconv.ParseInt(f[12], 10, 64)
	return u + s, pp, true
}

// cpuTicks sums utime+stime over pids.
func cpuTicks(pids []int) int64 {
	var t int64
	for _, p := range pids {
		if v, _, ok := statFields(p); ok {
			t += v
		}
	}
	return t
}

// memory is the resident memory of a set of processes, in KiB: RSS
// summed (shared pages count once per process) and PSS summed (shared
// pages divided among their processes).
type memory struct{ rss, pss int64 }

func memoryOf(pids []int) memory {
	var m memory
	for _, p := range pids {
		m.rss += kbField(filepath.Join("/proc", strconv.Itoa(p), "status"), "VmRSS:")
		m.pss += kbField(filepath.Join("/proc", strconv.Itoa(p), "smaps_rollup"), "Pss:")
	}
	return m
}

// kbField reads "Name:   123 kB" from a /proc file.
func kbField(path, name string) int64 {
	f, err := os.Open(path)
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), name); ok {
			n, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return n
		}
	}
	return 0
}

// raiseFileLimit raises the soft open-file limit to at least need, up to
// the hard limit, and says so when the hard limit is too low.
func raiseFileLimit(need int) error {
	var r syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &r); err != nil {
		return err
	}
	if r.Cur >= uint64(need) {
		return nil
	}
	if r.Max < uint64(need) {
		return fmt.Errorf("%d connections need %d open files; the hard limit is %d (ulimit -Hn)", need-64, need, r.Max)
	}
	r.Cur = r.Max
	return syscall.Setrlimit(syscall.RLIMIT_NOFILE, &r)
}
