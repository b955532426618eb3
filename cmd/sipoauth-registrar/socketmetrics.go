package main

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/sipoauth/sdk/siplimit"
)

// socketCollector exports what siplimit refused and dropped on each SIP
// socket, read from the sockets' statistics at every scrape.
type socketCollector struct {
	socks []limitedSocket
}

var (
	descConnsOpen = prometheus.NewDesc("sipoauth_sip_connections_open",
		"TCP and TLS connections open on a SIP port, handshakes included.", []string{"socket"}, nil)
	descConnsRefused = prometheus.NewDesc("sipoauth_sip_connections_refused_total",
		"Connections closed as soon as accepted: the port's cap (total) or the source's (source) was reached.", []string{"socket", "cap"}, nil)
	descConnsClosed = prometheus.NewDesc("sipoauth_sip_connections_closed_total",
		"Connections siplimit closed, by reason.", []string{"socket", "reason"}, nil)
	descDatagramsDropped = prometheus.NewDesc("sipoauth_sip_datagrams_dropped_total",
		"UDP datagrams dropped before the SIP stack, by reason.", []string{"socket", "reason"}, nil)
	descAnswered = prometheus.NewDesc("sipoauth_sip_framing_answers_total",
		"400 and 513 answers siplimit sent to badly framed or oversized messages.", []string{"socket"}, nil)
)

// Describe implements prometheus.Collector.
func (c *socketCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descConnsOpen, descConnsRefused, descConnsClosed, descDatagramsDropped, descAnswered} {
		ch <- d
	}
}

// reasonCount is a counter's value for one reason.
type reasonCount struct {
	reason string
	v      uint64
}

// Collect implements prometheus.Collector.
func (c *socketCollector) Collect(ch chan<- prometheus.Metric) {
	counter := func(d *prometheus.Desc, v uint64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), labels...)
	}
	byReason := func(d *prometheus.Desc, socket string, counts []reasonCount) {
		for _, r := range counts {
			counter(d, r.v, socket, r.reason)
		}
	}
	for _, s := range c.socks {
		switch sock := s.sock.(type) {
		case *siplimit.Listener:
			st := sock.Stats()
			ch <- prometheus.MustNewConstMetric(descConnsOpen, prometheus.GaugeValue, float64(st.Open), s.name)
			counter(descConnsRefused, st.RefusedTotal, s.name, "total")
			counter(descConnsRefused, st.RefusedPerSource, s.name, "source")
			byReason(descConnsClosed, s.name, []reasonCount{{"idle", st.ClosedIdle}, {"slow-message", st.ClosedSlowMessage}, {"write-timeout", st.ClosedWriteTimeout},
				{"too-large", st.TooLarge}, {"bad-framing", st.BadFraming}, {"not-sip", st.NotSIP}, {"handshake-failed", st.HandshakeFailures}})
			counter(descAnswered, st.Answered, s.name)
		case *siplimit.PacketConn:
			st := sock.Stats()
			byReason(descDatagramsDropped, s.name, []reasonCount{{"keep-alive", st.KeepAlives}, {"not-request", st.NotRequest}, {"rate-limited", st.RateLimited},
				{"too-many-sources", st.TooManySources}, {"window-full", st.WindowFull}, {"too-large", st.TooLarge}, {"bad-framing", st.BadFraming}})
			counter(descAnswered, st.Answered, s.name)
		}
	}
}
