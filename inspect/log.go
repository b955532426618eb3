package inspect

import (
	"io"

	"github.com/sipoauth/sdk/clientlog"
)

// checkLog analyzes a soft client's log as a stream.
func checkLog(r io.Reader, _ Options) (Result, error) {
	rep, err := clientlog.Analyze(r, clientlog.Options{})
	if err != nil {
		return Result{}, err
	}
	return Result{Log: rep, Findings: rep.Findings}, nil
}
