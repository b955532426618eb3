// Command edge shows an MRA edge proxy built with package edge: it takes
// soft clients' REGISTERs on its TLS port and forwards them to the nodes'
// MRA OAuth port (5091) over mutual TLS, presenting its own certificate,
// as Expressway-C does for Mobile and Remote Access.
//
//	go run ./examples/edge -cert expc.pem -key expc.key -node-ca tomcat-ca.pem \
//	    -upstream cucm-pub.example.com:5091,cucm-sub.example.com:5091
//
// The certificate needs the clientAuth usage, and its names must be in the
// nodes' edge-proxy table. An upstream failure is logged with its
// troubleshooting findings: scenario 2 when the proxy does not trust the
// node's signer, 3 when the node refuses the proxy. It prints the address
// it listens on and, when stopped with Ctrl-C, what it relayed.
// cmd/sipoauth-edge is the full program: token checks at the edge, the
// push of its names to the node's table, reloading of its certificate.
package main
