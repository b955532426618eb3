// Package edgetable is a node's edge-proxy table: the edge proxies
// (Expressway-C) allowed on its MRA OAuth port (5091), the counterpart of
// Unified CM's Expressway-C table (AXL ExpresswayCConfiguration:
// HostNameOrIP, description, X509SubjectNameorSubjectAlternateName), which
// each proxy pushes on discover and refresh.
//
// An Entry lists the names a proxy's certificate presents. The table is
// kept in memory (Memory) or in a JSON file that a crash never leaves
// half written (File). Handler serves it over HTTPS to the proxies, with
// HTTP Basic credentials and a per-address limit on failed logins
// (AuthThrottle); Push is the proxies' side of that API, and EntryFor
// makes a proxy's entry from its certificate. Authorize turns a table
// into the mtlstrust.Authorizer of the MRA OAuth port, so that a peer
// whose chain verified is let in only if one of its names is listed,
// matched as RFC 6125 says (mtlstrust.NameIndex).
//
// A wildcard name in the table ("*.mra.example.com") admits certificates
// named one label under it. A wildcard name in a certificate is another
// matter: one such certificate, often installed on many servers, would
// pass for every listed proxy under it, so it counts only for the entries
// that allow it (Entry.AllowWildcardCertificate,
// "allowWildcardCertificate" in the file and the HTTP API).
//
// The handler limits failed authentications per source address
// (AuthThrottle, on by default): after a few wrong passwords the address
// gets 429 Too Many Requests for a lockout that doubles with each further
// failure, so the password cannot be guessed, while edge proxies on other
// addresses go on pushing their entries.
package edgetable
