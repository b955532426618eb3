package main

import (
	"math"
	"time"
)

// histogram counts durations in buckets 1 % wide, from 1 µs to about 7
// minutes: fixed memory whatever the number of samples.
type histogram struct {
	n      [histBuckets]int64
	count  int64
	max    time.Duration
	sumSec float64
}

const histBuckets = 2000

var logStep = math.Log(1.01)

func (h *histogram) add(d time.Duration) {
	us := float64(d) / float64(time.Microsecond)
	i := 0
	if us > 1 {
		i = min(histBuckets-1, int(math.Log(us)/logStep))
	}
	h.n[i]++
	h.count++
	h.sumSec += d.Seconds()
	h.max = max(h.max, d)
}

func (h *histogram) merge(o *histogram) {
	for i := range h.n {
		h.n[i] += o.n[i]
	}
	h.count += o.count
	h.sumSec += o.sumSec
	h.max = max(h.max, o.max)
}

// quantile is the upper edge of the bucket holding quantile q (0 to 1).
func (h *histogram) quantile(q float64) time.Duration {
	if h.count == 0 {
		return 0
	}
	rank := int64(math.Ceil(q * float64(h.count)))
	var seen int64
	for i, c := range h.n {
		seen += c
		if seen >= max(rank, 1) {
			d := time.Duration(math.Pow(1.01, float64(i+1)) * float64(time.Microsecond))
			return min(d, h.max)
		}
	}
	return h.max
}
