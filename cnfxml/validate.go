package cnfxml

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/sipoauth/sdk/diag"
)

// Finding codes of Validate, stable across releases.
const (
	CodeOAuthModeInvalid         = "oauth-mode-invalid"
	CodeOAuthPortRange           = "oauth-port-range"
	CodePortConflict             = "port-conflict"
	CodeOAuthPortMissing         = "oauth-port-missing"
	CodeDigestWithOAuth          = "digest-with-oauth"
	CodeEncryptedConfigWithOAuth = "encrypted-config-with-oauth"
	CodeSecurityModeNotEncrypted = "security-mode-not-encrypted"
	CodeNoCallManager            = "no-call-manager"
	CodeTooManyNodes             = "too-many-nodes"
	CodeDuplicatePriority        = "duplicate-priority"
	CodeLegacyPortName           = "legacy-port-name"
	// Fields that did not parse (Config.FieldErrors, Reader.KeepGoing).
	CodeBadNumber = "bad-number"
	CodeBadPort   = "bad-port"
	CodeBadBool   = "bad-bool"
)

// The range Unified CM accepts for its OAuth ports.
const (
	MinOAuthPort = 1024
	MaxOAuthPort = 49151
)

// MaxCallManagers is how many nodes a client reads (ccm0..ccm2).
const MaxCallManagers = 3

const membersPath = "/device/devicePool/callManagerGroup/members"

// Validate checks the configuration for what stops or weakens SIP OAuth
// registration and returns the findings in file order. A configuration
// that a client registers with yields no finding of severity Error.
//
//	code                         severity  when
//	bad-number                   error     a number field is not a number (Config.FieldErrors)
//	bad-port                     error     a port field is not a port number, 1-65535
//	bad-bool                     error     encrConfig is not true or false
//	oauth-mode-invalid           error     sipOAuthMode is not 0 or 1
//	no-call-manager              error     the call manager group has no member
//	too-many-nodes               warning   more than three members: clients read ccm0..ccm2
//	duplicate-priority           warning   two members share a priority
//	oauth-port-range             error     an OAuth port outside 1024-49151
//	port-conflict                error     two ports of one node are equal
//	legacy-port-name             warning   sipMAOAuthPort instead of sipMRAOAuthPort
//	oauth-port-missing           warning   mode 1 and a node names no OAuth port (5090/5091 assumed)
//	digest-with-oauth            warning   mode 1 and a line carries digest credentials
//	encrypted-config-with-oauth  error     mode 1 and encrConfig is true
//	security-mode-not-encrypted  error     mode 1 and deviceSecurityMode is not 3
//
// A field of Config.FieldErrors is reported once, as what it is, and not
// again as the 0 it reads as.
func (c *Config) Validate() diag.Findings {
	var fs diag.Findings
	for _, e := range c.FieldErrors {
		fs = append(fs, fieldFinding(e))
	}
	add := func(code string, sev diag.Severity, path, msg, fix string) {
		if c.bad[path] {
			return
		}
		fs = append(fs, diag.Finding{Code: code, Severity: sev, Path: path, Message: msg, Fix: fix})
	}
	oauth := c.SIPOAuthMode == 1
	if c.SIPOAuthMode != 0 && !oauth {
		add(CodeOAuthModeInvalid, diag.Error, "/device/sipOAuthMode",
			fmt.Sprintf("sipOAuthMode is %d; clients know only 0 (disabled) and 1 (enabled)", c.SIPOAuthMode),
			"set sipOAuthMode to 1 to enable SIP OAuth or 0 to disable it")
	}

	switch n := len(c.CallManagers); {
	case n == 0:
		add(CodeNoCallManager, diag.Error, membersPath, "the call manager group has no member: the client has no node to register with",
			"add the device's Unified CM nodes to its call manager group")
	case n > MaxCallManagers:
		add(CodeTooManyNodes, diag.Warning, membersPath,
			fmt.Sprintf("%d call managers: clients read only the first three (ccm0..ccm2)", n),
			"keep at most three nodes in the call manager group")
	}
	seen := map[int]int{}
	for i, cm := range c.CallManagers {
		if j, dup := seen[cm.Priority]; dup {
			add(CodeDuplicatePriority, diag.Warning, c.memberPath(i)+"/@priority",
				fmt.Sprintf("priority %d is also the priority of %s: the order the client tries them in is undefined", cm.Priority, c.CallManagers[j].label()),
				"give each member its own priority, 0 first")
			continue
		}
		seen[cm.Priority] = i
	}

	for i, cm := range c.CallManagers {
		c.validateNode(i, cm, oauth, add)
	}

	if !oauth {
		return fs
	}
	for i, l := range c.Lines {
		if l.HasDigestCredentials() {
			add(CodeDigestWithOAuth, diag.Warning, c.linePath(i),
				fmt.Sprintf("line %s carries digest credentials (authName %q), which SIP OAuth does not use", l.Name, l.AuthName),
				"turn off Enable Digest Authentication in the device's security profile and clear the line's digest user")
		}
	}
	if c.EncryptedConfig {
		add(CodeEncryptedConfigWithOAuth, diag.Error, "/device/encrConfig",
			"encrConfig is true: TFTP Encrypted Config is not supported with SIP OAuth",
			"turn off TFTP Encrypted Config in the device's security profile")
	}
	if c.SecurityMode != Encrypted {
		add(CodeSecurityModeNotEncrypted, diag.Error, "/device/deviceSecurityMode",
			fmt.Sprintf("deviceSecurityMode is %s; SIP OAuth registers over TLS and needs 3 (encrypted)", describeMode(c.SecurityMode)),
			"use a phone security profile with device security mode Encrypted and Enable OAuth Authentication checked")
	}
	return fs
}

// fieldFinding is the finding of a field that did not parse.
func fieldFinding(e *ParseError) diag.Finding {
	f := diag.Finding{Code: CodeBadNumber, Severity: diag.Error, Path: e.Path,
		Message: fmt.Sprintf("%q is not a number", e.Value),
		Fix:     "correct the value: a client cannot read this field while it is wrong"}
	tag := e.Path[strings.LastIndexByte(e.Path, '/')+1:]
	switch {
	case errors.Is(e.Err, ErrBadPort), strings.HasSuffix(tag, "Port"):
		f.Code, f.Message = CodeBadPort, fmt.Sprintf("%q is not a port number (1-65535)", e.Value)
		f.Fix = "set the port in System > Cisco Unified CM and fetch the file again: a client cannot use this port while it is wrong"
	case errors.Is(e.Err, ErrBadBool):
		f.Code, f.Message = CodeBadBool, fmt.Sprintf("%q is not true or false", e.Value)
	}
	return f
}

func describeMode(m SecurityMode) string {
	if m == 0 {
		return "absent"
	}
	return strconv.Itoa(int(m)) + " (" + m.String() + ")"
}

func (c *Config) validateNode(i int, cm CallManager, oauth bool, add func(code string, sev diag.Severity, path, msg, fix string)) {
	ports := c.memberPath(i) + "/callManager/ports"
	p := cm.Ports
	mraTag := "sipMRAOAuthPort"
	if p.LegacyMRAName {
		mraTag = legacyMRATag
		add(CodeLegacyPortName, diag.Warning, ports+"/"+legacyMRATag,
			"the MRA OAuth port is spelled sipMAOAuthPort; Cisco clients read sipMRAOAuthPort",
			"rename the element to sipMRAOAuthPort")
	}
	for _, f := range []struct {
		tag  string
		port int
	}{{"sipOAuthPort", p.SIPOAuth}, {mraTag, p.SIPMRAOAuth}} {
		if f.port != 0 && (f.port < MinOAuthPort || f.port > MaxOAuthPort) {
			add(CodeOAuthPortRange, diag.Error, ports+"/"+f.tag,
				fmt.Sprintf("%s of %s is %d, outside %d-%d", f.tag, cm.label(), f.port, MinOAuthPort, MaxOAuthPort),
				fmt.Sprintf("set a port between %d and %d in System > Cisco Unified CM", MinOAuthPort, MaxOAuthPort))
		}
	}
	named := []struct {
		tag  string
		port int
	}{
		{"ethernetPhonePort", p.EthernetPhone}, {"sipPort", p.SIP}, {"securedSipPort", p.SecuredSIP},
		{"sipOAuthPort", p.SIPOAuth}, {mraTag, p.SIPMRAOAuth},
	}
	for a := range named {
		for b := a + 1; b < len(named); b++ {
			if named[a].port != 0 && named[a].port == named[b].port {
				add(CodePortConflict, diag.Error, ports+"/"+named[b].tag,
					fmt.Sprintf("%s and %s of %s are both %d", named[a].tag, named[b].tag, cm.label(), named[a].port),
					"give each listener of the node its own port")
			}
		}
	}
	// A port that did not parse is reported as such, not as missing.
	noOAuth := p.SIPOAuth == 0 && !c.bad[ports+"/sipOAuthPort"]
	noMRA := p.SIPMRAOAuth == 0 && !c.bad[ports+"/"+mraTag]
	if oauth && (noOAuth || noMRA) {
		var missing string
		switch {
		case noOAuth && noMRA:
			missing = "sipOAuthPort and sipMRAOAuthPort; the client will assume 5090 and 5091"
		case noOAuth:
			missing = "sipOAuthPort; the client will assume 5090"
		default:
			missing = "sipMRAOAuthPort; the client will assume 5091"
		}
		add(CodeOAuthPortMissing, diag.Warning, ports,
			fmt.Sprintf("%s names no %s", cm.label(), missing),
			"upgrade the node to a release with SIP OAuth (12.5 or later) or set its OAuth ports")
	}
}

// label names a call manager in messages.
func (cm CallManager) label() string {
	name := cm.Name
	if name == "" {
		name = cm.ProcessNodeName
	}
	return fmt.Sprintf("call manager %q (priority %d)", name, cm.Priority)
}

// memberPath returns the path of the i-th call manager's element.
func (c *Config) memberPath(i int) string {
	if el := c.CallManagers[i].el; el != nil && el.Parent() != nil {
		return path(el)
	}
	return membersPath + "/member[" + strconv.Itoa(i+1) + "]"
}

func (c *Config) linePath(i int) string {
	if el := c.Lines[i].el; el != nil && el.Parent() != nil {
		return path(el)
	}
	return "/device/sipProfile/sipLines/line[" + strconv.Itoa(i+1) + "]"
}
