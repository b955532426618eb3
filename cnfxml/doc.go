// Package cnfxml reads, writes, checks and serves the device configuration
// file that Unified CM's TFTP service hands each phone and soft client as
// http://<node>:6970/<DEVICE>.cnf.xml. A client learns everything about
// SIP OAuth mode from it: whether the mode is on (sipOAuthMode), and which
// nodes and ports to register with (the call manager group's members and
// their sipOAuthPort and sipMRAOAuthPort).
//
// Parse gives a typed Config over the file's element tree
// (github.com/beevik/etree). Writing it back changes only the fields that
// were changed: unknown elements, comments, attribute order, the
// undeclared xsi prefix and vendorConfig stay as they were. Reading is
// bounded in size and depth, and every error names the element path.
//
// Validate returns diag findings for what stops or weakens SIP OAuth
// registration; Targets returns the ordered list of nodes, ports and
// transports a client tries; NewCSF builds a Jabber configuration from
// scratch; Handler serves files from a directory or any Source (not in
// js/wasm builds, where the package is used to check files in a browser).
package cnfxml
