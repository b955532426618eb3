package cnfxml

// Deployment is where the client is: on the enterprise network, or
// outside it, reaching Unified CM through Expressway (Mobile and Remote
// Access).
type Deployment int

const (
	// OnPremises clients connect to the nodes directly.
	OnPremises Deployment = iota
	// MRA clients connect through the edge proxy, which connects to the
	// node's MRA OAuth port over mutual TLS.
	MRA
)

// String returns "on-premises" or "mra".
func (d Deployment) String() string {
	if d == MRA {
		return "mra"
	}
	return "on-premises"
}

// Transport of a target.
const (
	TLS = "TLS"
	// TCP also stands for UDP: a non-secure device registers on sipPort
	// over either, as its SIP profile says.
	TCP = "TCP"
)

// Target is one place a client registers with, in the order it tries them.
type Target struct {
	Host            string // the node's name (host or IP address)
	Port            int
	Transport       string // TLS or TCP
	OAuth           bool   // the client authenticates with a bearer token
	DefaultPort     bool   // the file names no port; the client's default is used
	Priority        int    // the member's priority
	ProcessNodeName string
}

// Targets returns the targets a client derives from cfg, in priority
// order, at most the three nodes clients read (ccm0..ccm2):
//
//   - SIP OAuth enabled, on premises: each node's sipOAuthPort (5090) over TLS;
//   - SIP OAuth enabled, MRA: each node's sipMRAOAuthPort (5091), the port
//     the edge proxy uses toward the node;
//   - SIP OAuth disabled: securedSipPort (5061) over TLS for an
//     authenticated or encrypted device, else sipPort (5060).
//
// Nodes with neither a name nor a process node name are skipped.
func Targets(cfg *Config, d Deployment) []Target {
	var out []Target
	for _, cm := range cfg.CallManagers {
		if len(out) == MaxCallManagers {
			break
		}
		host := cm.Name
		if host == "" {
			host = cm.ProcessNodeName
		}
		if host == "" {
			continue
		}
		t := Target{Host: host, Priority: cm.Priority, ProcessNodeName: cm.ProcessNodeName, Transport: TLS}
		switch {
		case cfg.SIPOAuthMode == 1 && d == MRA:
			t.OAuth = true
			t.Port, t.DefaultPort = portOr(cm.Ports.SIPMRAOAuth, DefaultSIPMRAOAuthPort)
		case cfg.SIPOAuthMode == 1:
			t.OAuth = true
			t.Port, t.DefaultPort = portOr(cm.Ports.SIPOAuth, DefaultSIPOAuthPort)
		case cfg.SecurityMode == Authenticated || cfg.SecurityMode == Encrypted:
			t.Port, t.DefaultPort = portOr(cm.Ports.SecuredSIP, DefaultSecuredSIPPort)
		default:
			t.Transport = TCP
			t.Port, t.DefaultPort = portOr(cm.Ports.SIP, DefaultSIPPort)
		}
		out = append(out, t)
	}
	return out
}

func portOr(p, def int) (int, bool) {
	if p == 0 {
		return def, true
	}
	return p, false
}
