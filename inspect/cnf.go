package inspect

import (
	"errors"

	"github.com/sipoauth/sdk/cnfxml"
	"github.com/sipoauth/sdk/diag"
)

// checkCNF parses a configuration file and validates it. A file that
// does not parse is a cnf-unreadable finding at the element path the
// parser names (the line and column of XML that is not well-formed); a
// field that does not parse is a finding of its own, and the rest of the
// file is checked.
func checkCNF(input []byte) Result {
	cfg, err := cnfxml.Reader{KeepGoing: true}.Parse(input)
	if err != nil {
		f := diag.Finding{Code: CodeCNFUnreadable, Severity: diag.Error, Path: "/", Message: err.Error(), Fix: cnfFix(err)}
		var pe *cnfxml.ParseError
		if errors.As(err, &pe) && pe.Path != "" {
			f.Path = pe.Path
		}
		return Result{Findings: diag.Findings{f}}
	}
	v := &CNFView{
		DeviceName:   cfg.DeviceName,
		SIPOAuthMode: cfg.SIPOAuthMode,
		SecurityMode: int(cfg.SecurityMode),
		UserID:       cfg.UserID,
		OnPremises:   targets(cfg, cnfxml.OnPremises),
		MRA:          targets(cfg, cnfxml.MRA),
	}
	return Result{Findings: cfg.Validate(), CNF: v}
}

func targets(cfg *cnfxml.Config, d cnfxml.Deployment) []Target {
	out := []Target{}
	for _, t := range cnfxml.Targets(cfg, d) {
		out = append(out, Target{
			Host: t.Host, Port: t.Port, Transport: t.Transport, OAuth: t.OAuth,
			DefaultPort: t.DefaultPort, Priority: t.Priority, ProcessNode: t.ProcessNodeName,
		})
	}
	return out
}

// cnfFix says what to do about a file that does not parse.
func cnfFix(err error) string {
	switch {
	case errors.Is(err, cnfxml.ErrRoot):
		return "check the file: a device configuration file has the root element <device>; fetch it as the client does, from http://<node>:6970/<DEVICE>.cnf.xml"
	case errors.Is(err, cnfxml.ErrBadNumber), errors.Is(err, cnfxml.ErrBadPort), errors.Is(err, cnfxml.ErrBadBool):
		return "correct the value at this element: clients cannot read the file while it is wrong"
	case errors.Is(err, cnfxml.ErrTrailing):
		return "remove what follows the </device> end tag: a configuration file holds one <device> element"
	case errors.Is(err, cnfxml.ErrTooLarge), errors.Is(err, cnfxml.ErrTooDeep):
		return "check that this is a device configuration file: they are a few kilobytes, nested a few levels deep"
	}
	return "paste the whole file as the TFTP service serves it (http://<node>:6970/<DEVICE>.cnf.xml); a file cut short or edited by hand no longer parses"
}
