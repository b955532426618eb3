//go:build !js

package certcheck

import "crypto/x509"

func parseDER(der []byte) (*x509.Certificate, error) { return x509.ParseCertificate(der) }
