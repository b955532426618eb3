package integration_test

import (
	"fmt"
	"os"

	"github.com/sipoauth/sdk/internal/integration"
)

// printTB shows what a test would be told.
type printTB struct{}

func (printTB) Helper()                           {}
func (printTB) Skipf(format string, args ...any)  { fmt.Printf("skip: "+format+"\n", args...) }
func (printTB) Fatalf(format string, args ...any) { fmt.Printf("fail: "+format+"\n", args...) }

// A test that needs Kamailio where it is not installed.
func Example() {
	os.Setenv(integration.Env, "")
	integration.Missing(printTB{}, "kamailio not installed (apt-get install kamailio)")
	os.Setenv(integration.Env, "1")
	integration.Missing(printTB{}, "kamailio not installed (apt-get install kamailio)")
	os.Unsetenv(integration.Env)
	// Output:
	// skip: kamailio not installed (apt-get install kamailio)
	// fail: kamailio not installed (apt-get install kamailio) (SIPOAUTH_INTEGRATION=1 requires it)
}
