package clientlog_test

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
	"runtime"
	"testing"

	"github.com/sipoauth/sdk/clientlog"
)

const bigSize = 20 << 20

// bigLog is a long client log: the start of crlf.log (configuration,
// mode, nodes, connection), then units repeated until size bytes: noise
// records, a registration (REGISTER, 407, REGISTER with a token, 200 OK)
// one header per line, more noise, and the same registration printed as
// the source document prints its log.
type bigLog struct {
	head, unit []byte
	headLines  int
	unitLines  int
	units      int
}

func newBigLog(tb testing.TB, size int) *bigLog {
	tb.Helper()
	raw, err := os.ReadFile("testdata/crlf.log")
	if err != nil {
		tb.Fatal(err)
	}
	raw = bytes.ReplaceAll(raw, []byte("\r\n"), []byte("\n"))
	i := bytes.Index(raw, []byte("2024-05-06 09:15:02,901"))
	head, sip := raw[:i], raw[i:]
	var unit bytes.Buffer
	for n := range 20 {
		fmt.Fprintf(&unit, "2024-05-06 09:16:%02d,%03d DEBUG [0x00001f10] [src\\jcfcoreutils\\TelemetryHelper.cpp(214)] [csf.jcf] "+
			"[csf::jcf::TelemetryHelper::record] - presence update %d: state=available, activity=none, note=\"in the office\"\n", n, n*37%1000, n)
	}
	unit.Write(sip)
	for n := range 5 {
		fmt.Fprintf(&unit, "2024-05-06 09:17:%02d,500 INFO  [0x00002484] [x\\y.c(1)] [csf.httpclient] [request] - GET https://cucm.example.com:8443/ssosp/status %d\n", n, n)
	}
	unit.WriteString(wrapLikeDocument(string(sip), 100))
	b := &bigLog{head: head, unit: unit.Bytes()}
	b.headLines = bytes.Count(head, []byte("\n"))
	b.unitLines = bytes.Count(b.unit, []byte("\n"))
	b.units = (size - len(head) + len(b.unit) - 1) / len(b.unit)
	return b
}

func (b *bigLog) size() int { return len(b.head) + b.units*len(b.unit) }

// reader streams the log without holding it; every 1 MiB it calls
// sample, if set.
func (b *bigLog) reader(sample func()) io.Reader {
	parts := []io.Reader{bytes.NewReader(b.head)}
	for range b.units {
		parts = append(parts, bytes.NewReader(b.unit))
	}
	return &sampler{r: io.MultiReader(parts...), sample: sample}
}

type sampler struct {
	r      io.Reader
	sample func()
	n, at  int
}

func (s *sampler) Read(p []byte) (int, error) {
	n, err := s.r.Read(p)
	s.n += n
	if s.sample != nil && s.n-s.at >= 1<<20 {
		s.at = s.n
		s.sample()
	}
	return n, err
}

func liveHeap() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// TestBigLog analyzes a 20 MB log streamed through a reader, and checks
// the result and that the live heap stays bounded by the options, not by
// the size of the log. Not parallel: the live heap is the whole process's.
func TestBigLog(t *testing.T) {
	if testing.Short() {
		t.Skip("20 MB log")
	}
	big := newBigLog(t, bigSize)
	// The line of the last 200 OK: that of the second one of a single unit,
	// moved to the last unit.
	one, err := clientlog.Analyze(io.MultiReader(bytes.NewReader(big.head), bytes.NewReader(big.unit)), clientlog.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(one.Timeline) != 12 || one.Timeline[11].Status != 200 {
		t.Fatalf("one unit: %q", summaries(one))
	}
	lastOK := one.Timeline[11].Line + (big.units-1)*big.unitLines

	for _, tt := range []struct {
		opts  clientlog.Options
		limit uint64
	}{
		{clientlog.Options{}, 8 << 20},
		{clientlog.Options{MaxEvents: 100}, 1 << 20},
	} {
		maxEvents := tt.opts.MaxEvents
		if maxEvents == 0 {
			maxEvents = clientlog.DefaultMaxEvents
		}
		before := liveHeap()
		var peak uint64
		rep, err := clientlog.Analyze(big.reader(func() { peak = max(peak, liveHeap()) }), tt.opts)
		if err != nil {
			t.Fatal(err)
		}
		peak = max(peak, liveHeap())
		runtime.KeepAlive(rep)
		growth := peak - min(before, peak)
		t.Logf("MaxEvents %d: %d bytes in %d lines, live heap grew by %d KiB at most", maxEvents, rep.Bytes, rep.Lines, growth>>10)
		if growth > tt.limit {
			t.Errorf("MaxEvents %d: the live heap grew by %d KiB, more than %d KiB", maxEvents, growth>>10, tt.limit>>10)
		}
		events := 4 + 8*big.units
		if rep.Bytes != int64(big.size()) || rep.Lines != big.headLines+big.units*big.unitLines ||
			rep.Messages != 8*big.units || len(rep.Timeline) != maxEvents || rep.Dropped != events-maxEvents {
			t.Errorf("Bytes %d Lines %d Messages %d Timeline %d Dropped %d; want %d %d %d %d %d", rep.Bytes, rep.Lines, rep.Messages,
				len(rep.Timeline), rep.Dropped, big.size(), big.headLines+big.units*big.unitLines, 8*big.units, maxEvents, events-maxEvents)
		}
		want := fmt.Sprintf("info log-registered %s: REGISTER CSeq 102 answered 200 OK: registered for 120 s (the client asked for 3600 s) (seen %d times; the last at line %d)",
			one.Findings[0].Path, 2*big.units, lastOK)
		if len(rep.Findings) != 1 || rep.Findings[0].String() != want {
			t.Errorf("findings %q\nwant %q", rep.Findings, want)
		}
	}
}

// BenchmarkAnalyze measures Analyze on the 20 MB log held in memory.
func BenchmarkAnalyze(b *testing.B) {
	data := bigLogBytes(b)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := clientlog.Analyze(bytes.NewReader(data), clientlog.Options{}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkBaselineScanner reads the same bytes line by line with a
// bufio.Scanner doing nothing: the floor under any line-based analysis.
func BenchmarkBaselineScanner(b *testing.B) {
	data := bigLogBytes(b)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		sc := bufio.NewScanner(bytes.NewReader(data))
		sc.Buffer(make([]byte, 64<<10), 64<<10)
		n := 0
		for sc.Scan() {
			n++
		}
		if sc.Err() != nil || n == 0 {
			b.Fatal(sc.Err(), n)
		}
	}
}

func bigLogBytes(b *testing.B) []byte {
	big := newBigLog(b, bigSize)
	data, err := io.ReadAll(big.reader(nil))
	if err != nil {
		b.Fatal(err)
	}
	return data
}
