// Command registrar is the target of the SIPp load test in bench/run.sh.
//
// In registrar mode it serves the OAuth registrar of package registrar over
// plain UDP or TCP (PlaintextForLoadTests), with an in-memory issuer whose
// nested tokens (Unified CM's shape) its validator trusts. In bare mode it
// measures the SIP stack alone on the same message flow: a REGISTER
// without Proxy-Authorization gets the registrar's 407 challenge, any other
// REGISTER a 200 OK echoing its Contact with Expires: 120, with no lookup,
// validation or binding.
//
// Before serving, it writes the SIPp injection file: SEQUENTIAL, then one
// line "user;device;token" per device, with a fresh 60-minute token. It
// prints "ready" on stdout once listening and stops on SIGINT or SIGTERM,
// printing what it answered and the CPU time it used on stderr.
package main
