package prommetrics

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/sipoauth/sdk/registrar"
	"github.com/sipoauth/sdk/sipauth"
)

// Registrar is a registrar.ValidationObserver that counts a registrar's
// REGISTERs for Prometheus. Give it to registrar.Config.Observer.
type Registrar struct {
	// Registrations counts REGISTERs by outcome: registered,
	// unregistered, challenged, refused, error.
	Registrations *prometheus.CounterVec
	// AuthFailures counts the refusals of the authentication class
	// (sipauth.ClassAuth: missing, malformed or refused credentials, an
	// identity that may not register what it asks), by reason.
	AuthFailures *prometheus.CounterVec
	// Unavailable counts the REGISTERs answered 503 because a service the
	// registrar depends on failed (sipauth.ClassUnavailable), by reason:
	// token-check-unavailable (key server, revocation list),
	// store-unavailable, devices-unavailable. The cause is in the log.
	Unavailable *prometheus.CounterVec
	Latency     prometheus.Histogram // seconds per REGISTER
	Validation  prometheus.Histogram // seconds per token validation
	Bindings    prometheus.GaugeFunc // active bindings, when the store can count
}

var _ registrar.ValidationObserver = (*Registrar)(nil)

// NewRegistrar registers a registrar's metrics on reg. store, if it
// implements registrar.Counter, backs the active-bindings gauge.
func NewRegistrar(reg prometheus.Registerer, store registrar.Store) (*Registrar, error) {
	m := &Registrar{
		Registrations: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sipoauth_registrations_total", Help: "REGISTER requests by outcome.",
		}, []string{"outcome"}),
		AuthFailures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sipoauth_auth_failures_total", Help: "Refused or missing credentials by reason.",
		}, []string{"reason"}),
		Unavailable: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sipoauth_unavailable_total", Help: "REGISTERs answered 503 because a service the registrar depends on failed, by reason.",
		}, []string{"reason"}),
		Latency: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "sipoauth_register_seconds", Help: "Time to answer a REGISTER.",
			Buckets: prometheus.ExponentialBuckets(0.00005, 2, 16),
		}),
		Validation: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "sipoauth_token_validation_seconds", Help: "Time to validate a bearer token.",
			Buckets: prometheus.ExponentialBuckets(0.0000005, 2, 20),
		}),
	}
	cs := []prometheus.Collector{m.Registrations, m.AuthFailures, m.Unavailable, m.Latency, m.Validation}
	if c, ok := store.(registrar.Counter); ok {
		m.Bindings = prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "sipoauth_bindings", Help: "Active bindings.",
		}, func() float64 { return float64(c.Count()) })
		cs = append(cs, m.Bindings)
	}
	for _, c := range cs {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// ObserveRegister implements registrar.Observer.
func (m *Registrar) ObserveRegister(r *registrar.Request, status int, elapsed time.Duration) {
	outcome := "refused"
	switch {
	case status == 200 && r.Reason == sipauth.Unregistered:
		outcome = "unregistered"
	case status == 200:
		outcome = "registered"
	case status == 401 || status == 407:
		outcome = "challenged"
	case status >= 500:
		outcome = "error"
	}
	m.Registrations.WithLabelValues(outcome).Inc()
	switch r.Reason.Class() {
	case sipauth.ClassAuth:
		m.AuthFailures.WithLabelValues(r.Reason.String()).Inc()
	case sipauth.ClassUnavailable:
		m.Unavailable.WithLabelValues(r.Reason.String()).Inc()
	}
	m.Latency.Observe(elapsed.Seconds())
}

// ObserveValidation implements registrar.ValidationObserver.
func (m *Registrar) ObserveValidation(elapsed time.Duration) {
	m.Validation.Observe(elapsed.Seconds())
}
