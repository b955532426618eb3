package layers_test

import (
	"fmt"

	"github.com/sipoauth/sdk/internal/layers"
)

func Example() {
	for _, p := range []string{"ucm", "sipoauth", "registrar", "redisstore"} {
		l, _ := layers.Of(p)
		only, restricted := layers.Only(p)
		fmt.Println(p, l, layers.Forbidden(p), only, restricted)
	}
	// Output:
	// ucm 0 [] [] true
	// sipoauth 2 [github.com/emiago/sipgo github.com/sipoauth/sdk/issuer] [] false
	// registrar 3 [github.com/redis/go-redis/ github.com/prometheus/] [] false
	// redisstore 4 [] [] false
}
