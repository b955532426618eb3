package testnode_test

import (
	"testing"

	"github.com/sipoauth/sdk/internal/testnode"
)

// A client program's test starts a node and points the program at it.
// (Not run as an example: it needs a test's clean-ups; TestStart runs it.)
func Example() {
	_ = func(t *testing.T) {
		n := testnode.Start(t)
		_ = []string{"-config", n.ConfigURL + "/CSFrado.cnf.xml", "-device", "CSFrado", "-ca", n.CAFile,
			"-token-url", n.TokenURL, "-refresh-token", n.Refresh}
	}
}
