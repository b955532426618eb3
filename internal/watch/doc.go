// Package watch is the one way the SDK follows files that change under a
// running server (certificates, trust stores, key files, device and
// edge-proxy lists): it polls a fingerprint of them and reloads when it
// changes. Polling, rather than file notifications, sees files replaced
// by rename, as certificate tools and configuration managers do, and
// needs nothing from the platform.
package watch
