package bearer

import (
	"bytes"
	"log/slog"
	"strconv"
	"strings"
	"testing"
)

func TestRedactHandler(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	log := slog.New(RedactHandler(slog.NewTextHandler(&buf, nil))).With("conn", "tls 127.0.0.1:5090")
	msg := "REGISTER sip:10.10.10.1 SIP/2.0\r\nProxy-Authorization: Bearer token=\"eyJsecret\"\r\n"
	log.Error("failed to parse", "error", "bad header", "data", "REGISTER with nothing secret")
	log.Info("request", "header", `Bearer token="eyJsecret"`, "n", 3, slog.Group("msg", "raw", msg, "cseq", 2271))
	log.With("auth", "Authorization: Bearer eyJsecret").Warn("x")
	out := buf.String()
	if strings.Contains(out, "eyJsecret") {
		t.Fatalf("a token reached the log:\n%s", out)
	}
	for _, want := range []string{
		`msg="failed to parse" conn="tls 127.0.0.1:5090" error="bad header" data="[28 bytes withheld]"`,
		`header="[24 bytes withheld]" n=3 msg.raw="[` + strconv.Itoa(len(msg)) + ` bytes withheld]" msg.cseq=2271`,
		`conn="tls 127.0.0.1:5090" auth="[31 bytes withheld]"`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("log lacks %s:\n%s", want, out)
		}
	}
	if RedactHandler(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelWarn})).Enabled(t.Context(), slog.LevelInfo) {
		t.Error("Enabled does not follow the wrapped handler")
	}
}
