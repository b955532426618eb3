// Command sipoauth-edge runs the MRA edge proxy of package edge: it takes
// soft clients' REGISTERs on a TLS port and forwards them to the nodes'
// MRA OAuth port (5091) over mutual TLS, until Ctrl-C.
//
//	go run ./cmd/sipoauth-edge -cert expc.pem -key expc.key -node-ca tomcat-ca.pem \
//	    -upstream cucm-pub.example.com:5091,cucm-sub.example.com:5091 \
//	    -validate -keys authz.pem -cluster-key KID=HEX \
//	    -table-url https://cucm-pub.example.com:8443/edge-proxies -table-user expressway
//
// The table password may come from EXPRESSWAY_TABLE_PASSWORD instead of
// -table-password, which other users of the host can read in the process
// list. Failures with the nodes are logged with their troubleshooting
// findings (scenario 2: the proxy does not trust the node's signer;
// scenario 3: the node refuses the proxy's certificate).
package main
