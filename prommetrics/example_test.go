package prommetrics_test

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/sipoauth/sdk/prommetrics"
	"github.com/sipoauth/sdk/registrar"
	"github.com/sipoauth/sdk/sipauth"
)

func ExampleNewRegistrar() {
	store := registrar.NewMemoryStore()
	promReg := prometheus.NewRegistry()
	m, err := prommetrics.NewRegistrar(promReg, store)
	if err != nil {
		panic(err)
	}
	// registrar.New(registrar.Config{..., Store: store, Observer: m})
	// counts every REGISTER; here one refusal is observed by hand.
	m.ObserveRegister(&registrar.Request{Reason: sipauth.Expired}, 407, 0)

	mfs, _ := promReg.Gather()
	for _, mf := range mfs {
		for _, s := range mf.GetMetric() {
			if c := s.GetCounter(); c != nil && c.GetValue() > 0 {
				fmt.Println(mf.GetName(), s.GetLabel()[0].GetValue(), c.GetValue())
			}
		}
	}
	// Output:
	// sipoauth_auth_failures_total expired 1
	// sipoauth_registrations_total challenged 1
}
