package layers_test

import (
	"fmt"

	"github.com/sipoauth/sdk/internal/layers"
)

func Example() {
	for _, p := range []string{"ucm", "sipoauth", "registrar", "redisstore"} {
		l, _ := layers.Of(p)
		fmt.Println(p, l, layers.Forbidden(p))
	}
	// Output:
	// ucm 0 [github.com/emiago/sipgo]
	// sipoauth 2 [github.com/emiago/sipgo]
	// registrar 3 [github.com/redis/go-redis/ github.com/prometheus/]
	// redisstore 4 []
}
