package client_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sipoauth/sdk/client"
	"github.com/sipoauth/sdk/cnfxml"
)

// TestFetchConfig reads the test file through cnfxml.Handler and derives
// its targets and timers.
func TestFetchConfig(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile("../cnfxml/testdata/CSFrado.cnf.xml")
	if err != nil {
		t.Fatal(err)
	}
	base := serveConfigs(t, map[string][]byte{"CSFrado": b})
	dc, err := client.FetchConfig(ctx(t, 5*time.Second), nil, base+"CSFrado.cnf.xml", 0)
	if err != nil {
		t.Fatal(err)
	}
	if dc.DeviceName != "CSFrado" || dc.UserID != "rado" || dc.SIPOAuthMode != 1 || dc.Timers != (client.StackTimers{RegisterExpires: 3600, RegisterDelta: 5}) {
		t.Fatalf("config %s %s %d %+v", dc.DeviceName, dc.UserID, dc.SIPOAuthMode, dc.Timers)
	}
	var got []string
	for _, tg := range cnfxml.Targets(dc.Config, cnfxml.MRA) {
		got = append(got, net.JoinHostPort(tg.Host, strconv.Itoa(tg.Port)))
	}
	if !slices.Equal(got, []string{"10.10.10.1:5091", "10.10.10.2:5091"}) {
		t.Errorf("MRA targets %v", got)
	}
	if _, err := client.FetchConfig(ctx(t, 5*time.Second), nil, base+"CSFnobody.cnf.xml", 0); err == nil || !strings.Contains(err.Error(), "404") {
		t.Errorf("unknown device: %v", err)
	}
}

// TestFetchConfigLimit: a file over the limit is refused, whether its
// length is announced or not.
func TestFetchConfigLimit(t *testing.T) {
	t.Parallel()
	big := "<device>" + strings.Repeat("<x/>", (1<<20)/4) + "</device>"
	announced := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte(big)) }))
	defer announced.Close()
	chunked := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for i := 0; i < len(big); i += 4096 {
			w.Write([]byte(big[i:min(i+4096, len(big))]))
			w.(http.Flusher).Flush()
		}
	}))
	defer chunked.Close()
	for name, url := range map[string]string{"announced": announced.URL + "/CSFrado.cnf.xml", "chunked": chunked.URL + "/CSFrado.cnf.xml"} {
		_, err := client.FetchConfig(ctx(t, 10*time.Second), nil, url, 0)
		if !errors.Is(err, cnfxml.ErrTooLarge) {
			t.Errorf("%s: %v", name, err)
		}
	}
	// A configured limit, through the Client.
	b, _ := os.ReadFile("../cnfxml/testdata/CSFrado.cnf.xml")
	base := serveConfigs(t, map[string][]byte{"CSFrado": b})
	c, err := client.New(client.Config{DeviceName: "CSFrado", ConfigURL: base, MaxConfigSize: 1000, Logger: quiet,
		Tokens: client.StaticTokenSource(&client.Token{AccessToken: "x"})})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_, err = c.Register(ctx(t, 5*time.Second))
	if !errors.Is(err, cnfxml.ErrTooLarge) || !strings.Contains(err.Error(), "limit 1000") {
		t.Fatalf("error %v", err)
	}
}

// TestFetchConfigTimeout: a configuration server that does not answer is
// given up on after ConfigTimeout.
func TestFetchConfigTimeout(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() }))
	defer srv.Close()
	c, err := client.New(client.Config{DeviceName: "CSFrado", ConfigURL: srv.URL + "/", ConfigTimeout: 200 * time.Millisecond, Logger: quiet,
		Tokens: client.StaticTokenSource(&client.Token{AccessToken: "x"})})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	start := time.Now()
	_, err = c.Register(ctx(t, 10*time.Second))
	if !errors.Is(err, context.DeadlineExceeded) || time.Since(start) > 2*time.Second {
		t.Fatalf("after %s: %v", time.Since(start), err)
	}
}

// TestParseStackTimers reads the sipStack timers and ignores what is not
// a number in range.
func TestParseStackTimers(t *testing.T) {
	t.Parallel()
	cases := map[string]client.StackTimers{
		`<device><sipProfile><sipStack><timerRegisterExpires>120</timerRegisterExpires><timerRegisterDelta> 7 </timerRegisterDelta></sipStack></sipProfile></device>`: {RegisterExpires: 120, RegisterDelta: 7},
		`<device xsi:type="axl:XIPPhone"><sipProfile><sipStack><timerRegisterDelta>-1</timerRegisterDelta></sipStack></sipProfile></device>`:                          {},
		`<device><sipStack><timerRegisterDelta>9</timerRegisterDelta></sipStack></device>`:                                                                            {},
		`<device><sipProfile><sipStack><timerRegisterExpires>99999999</timerRegisterExpires></sipStack></sipProfile></device>`:                                        {},
		`<device><sipProfile><sipStack><timerRegisterDelta>5`:                                                                                                         {},
		`not xml`: {},
	}
	for in, want := range cases {
		if got := client.ParseStackTimers([]byte(in)); got != want {
			t.Errorf("%s: %+v, want %+v", in, got, want)
		}
	}
}
