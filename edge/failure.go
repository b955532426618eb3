package edge

import (
	"context"
	"errors"
	"net"

	"github.com/sipoauth/sdk/diag"
	"github.com/sipoauth/sdk/mtlstrust"
)

// Finding codes of upstream failures that are not TLS handshake failures.
// Handshake failures carry the codes of mtlstrust.Diagnose
// (diag.CodeUnknownCAAtEdge, diag.CodeUnknownCAAtNode, ...).
const (
	// CodeUpstreamUnreachable: no TCP connection, or no TLS handshake
	// within Config.DialTimeout.
	CodeUpstreamUnreachable = "upstream-unreachable"
	// CodeUpstreamClosed: the connection to the node ended before the
	// node answered.
	CodeUpstreamClosed = "upstream-closed"
	// CodeUpstreamTimeout: no final answer within Config.Timeout.
	CodeUpstreamTimeout = "upstream-timeout"
	// CodeBadUpstreamResponse: the node sent bytes that are not a SIP
	// message, or a message over the size limit.
	CodeBadUpstreamResponse = "bad-upstream-response"
)

// Failure is an upstream failure, reported to Config.OnFailure and logged:
// which node, the raw error, and what it means for the deployment.
type Failure struct {
	// Upstream is the node's address (host:port) as configured.
	Upstream string
	// ServerName is the name the node's certificate was checked for.
	ServerName string
	// Err is the error as it happened: the dial, handshake, read or
	// timeout error.
	Err error
	// Findings explain Err: for a TLS handshake failure, the finding of
	// mtlstrust.Diagnose seen from the edge side; otherwise one finding
	// with a Code* constant of this package.
	Findings diag.Findings
	// Scenario is the troubleshooting scenario: 2 when the proxy does not
	// trust the node's certificate, 3 when the node refuses the proxy's
	// (unknown CA, or a name not in the edge-proxy table), 0 otherwise.
	Scenario int
}

// Code returns the code of the first finding, or "" when there is none.
func (f Failure) Code() string {
	if len(f.Findings) == 0 {
		return ""
	}
	return f.Findings[0].Code
}

// Error describes the failure on one line.
func (f Failure) Error() string {
	msg := "edge: upstream " + f.Upstream
	if len(f.Findings) > 0 {
		return msg + ": " + f.Findings[0].Code + ": " + f.Findings[0].Message
	}
	if f.Err != nil {
		return msg + ": " + f.Err.Error()
	}
	return msg + ": failed"
}

// Unwrap returns the raw error.
func (f Failure) Unwrap() error { return f.Err }

// handshakeFailure explains a failed TLS handshake with the node, or a
// refusal the node sent right after it (in TLS 1.3 the node checks the
// proxy's certificate after the proxy's side of the handshake is done).
func handshakeFailure(upstream, serverName string, err error) Failure {
	if isTimeout(err) {
		return Failure{Upstream: upstream, ServerName: serverName, Err: err, Findings: diag.Findings{{
			Code: CodeUpstreamUnreachable, Severity: diag.Error, Path: "tls",
			Message: "the TLS handshake with the node did not complete in time: " + err.Error(),
			Fix:     "check that the node's MRA OAuth port (5091) speaks TLS and is not overloaded",
		}}}
	}
	d := mtlstrust.Diagnose(err, diag.EdgeSide)
	return Failure{Upstream: upstream, ServerName: serverName, Err: err, Findings: diag.Findings{d.Finding}, Scenario: d.Scenario}
}

// isRefusal reports whether err, seen on a connection before any byte came
// from the node, is the node refusing the handshake.
func isRefusal(err error) bool {
	d := mtlstrust.Diagnose(err, diag.EdgeSide)
	return d.Scenario != 0 || d.Alert != 0
}

func connectFailure(upstream, serverName string, err error) Failure {
	return Failure{Upstream: upstream, ServerName: serverName, Err: err, Findings: diag.Findings{{
		Code: CodeUpstreamUnreachable, Severity: diag.Error, Path: "upstream",
		Message: "no connection to the node: " + err.Error(),
		Fix:     "check the upstream address and port (the node's MRA OAuth port, 5091 by default) and that the node is running",
	}}}
}

func closedFailure(upstream, serverName string, err error) Failure {
	return Failure{Upstream: upstream, ServerName: serverName, Err: err, Findings: diag.Findings{{
		Code: CodeUpstreamClosed, Severity: diag.Error, Path: "upstream",
		Message: "the connection to the node ended before it answered: " + err.Error(),
		Fix:     "check the node's logs; a node that restarts or drops idle connections closes them",
	}}}
}

func timeoutFailure(upstream, serverName string, err error) Failure {
	return Failure{Upstream: upstream, ServerName: serverName, Err: err, Findings: diag.Findings{{
		Code: CodeUpstreamTimeout, Severity: diag.Error, Path: "upstream",
		Message: "the node did not answer in time",
		Fix:     "check the node's load and logs, or raise the proxy's timeout",
	}}}
}

func badResponseFailure(upstream, serverName string, err error) Failure {
	return Failure{Upstream: upstream, ServerName: serverName, Err: err, Findings: diag.Findings{{
		Code: CodeBadUpstreamResponse, Severity: diag.Error, Path: "upstream",
		Message: "the node sent something that is not a valid SIP message: " + err.Error(),
		Fix:     "check that the upstream address is a SIP registrar's MRA OAuth port",
	}}}
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout())
}

// warningText is the short text of the Warning header the client gets for
// a failure: enough for a client log to point at the hop that failed,
// without the details, which go to the operator.
// A certificate problem's text is diag's, which the inspectors read back.
func warningText(code string) string {
	if text, ok := diag.EdgeWarningText(code); ok {
		return text
	}
	switch code {
	case diag.CodeHandshakeFailed:
		return "TLS to the registrar failed"
	case CodeUpstreamUnreachable:
		return "Registrar unreachable"
	case CodeUpstreamClosed:
		return "Connection to the registrar lost"
	case CodeUpstreamTimeout:
		return "No answer from the registrar"
	case CodeBadUpstreamResponse:
		return "Bad response from the registrar"
	}
	return "Registrar unavailable"
}
