// Command sipoauth checks the parts of a SIP OAuth deployment from a
// terminal and prints the same findings, with the same codes, severities,
// paths, messages and fixes, as the library and the browser inspector:
// every check goes through package inspect.
//
// Install it with
//
//	go install github.com/sipoauth/sdk/cmd/sipoauth@latest
//
// Commands:
//
//	sipoauth cnf check FILE|-
//	    Check a device configuration file (<DEVICE>.cnf.xml).
//	    sipoauth cnf check CSFrado.cnf.xml
//
//	sipoauth cnf targets [--mra] FILE|-
//	    The ordered registration targets: priority, host, port, transport, OAuth.
//	    curl -s http://10.10.10.1:6970/CSFrado.cnf.xml | sipoauth cnf targets --mra -
//
//	sipoauth cnf gen [--device CSFx] [--user U] --node host[:oauthPort[:mraPort]]... [--mode 0|1] [-o FILE]
//	    Write a Jabber configuration file.
//	    sipoauth cnf gen --user rado --node 10.10.10.1 --node 10.10.10.2:5190:5191 -o CSFrado.cnf.xml
//
//	sipoauth cert check [--role node|edge] [--name HOST] FILE|-
//	    Check a certificate chain, leaf first, in PEM or DER.
//	    sipoauth cert check --role edge --name expc1.example.com expressway.pem
//
//	sipoauth token inspect TOKEN|FILE|-
//	    Decode a token without verifying it: header, claims, expiry, shape, use.
//	    sipoauth token inspect eyJhbGciOiJSUzI1NiIs...
//
//	sipoauth token verify --keys FILE|URL [--iss ISS] [--aud AUD] [--device NAME] [--decryption-key FILE] TOKEN|FILE|-
//	    Verify a token and print whose it is, or why it is refused with its
//	    RFC 6750 error code.
//	    sipoauth token verify --keys https://cucm.example.com/.well-known/jwks.json --device CSFrado - < token
//
//	sipoauth token mint --key FILE --sub USER [--device NAME] [--ttl 1h] [--iss ISS] [--aud AUD] [--scope S] [--kid KID] [--nested --enc-key FILE] [--refresh]
//	    Mint a token for labs and load tests; prints the token only.
//	    sipoauth token mint --key signing.pem --sub rado --device CSFrado --nested --enc-key cluster.key
//
//	sipoauth header parse 'HEADER'|FILE|-
//	    Parse a Bearer challenge or credentials header.
//	    sipoauth header parse 'Proxy-Authenticate: Bearer realm="ccmsipline"'
//
//	sipoauth log analyze FILE|-
//	    The timeline and diagnosis of a soft client's (Jabber's) log: a file of
//	    any size is streamed in bounded memory, standard input read up to 64 MiB.
//	    sipoauth log analyze jabber.log
//
//	sipoauth probe HOST:PORT [--ca FILE] [--cert FILE --key FILE] [--name SERVERNAME] [--timeout 5s] [--device NAME --user USER]
//	    TLS handshake with a registrar's OAuth port, the chain and its findings,
//	    the diagnosis of a failed handshake, and the answer to one REGISTER
//	    without credentials (the Bearer challenge, or the port mismatch and
//	    its causes).
//	    sipoauth probe --ca tomcat-ca.pem --device CSFrado --user rado ucm-pub.example.com:5090
//
// Every command takes --json and then prints a JSON object with a
// "findings" array in the diag format: the inspect.Result for the checks,
// and objects of their own for token verify, token mint and probe. "-" or
// no argument reads standard input where a file or a token is expected;
// on a terminal, a hint on standard error says so. A TOKEN or HEADER
// argument that names an existing file is read from that file: when a
// string is both, the file wins. "sipoauth help" and
// "sipoauth <command> -h" print the usage, each flag with its default.
//
// Exit status: 0 when no finding has severity error, 1 when one has (or a
// token is refused), 2 for a usage error or an input that cannot be read
// (a missing file, empty input) or parsed at all (binary garbage, XML that
// is not well-formed, a certificate that is neither PEM nor DER).
package main
