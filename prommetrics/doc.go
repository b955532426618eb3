// Package prommetrics counts what the SDK's servers do for Prometheus
// (github.com/prometheus/client_golang), kept apart so that a product
// that does not use Prometheus does not link it.
//
// Registrar is a registrar.Observer: REGISTERs by outcome, refusals of
// the authentication class and failed backends by their sipauth.Reason,
// the time to answer and to validate a token, and the active bindings
// when the store can count them. The metric names are
// sipoauth_registrations_total, sipoauth_auth_failures_total,
// sipoauth_unavailable_total, sipoauth_register_seconds,
// sipoauth_token_validation_seconds and sipoauth_bindings.
package prommetrics
