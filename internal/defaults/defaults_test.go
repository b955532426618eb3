package defaults

import (
	"testing"
	"time"
)

func TestPositive(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ v, def, want int }{
		{5, 7, 5}, {1, 7, 1}, {0, 7, 7}, {-1, 7, 7}, {-1 << 62, 7, 7},
	} {
		if got := Positive(tc.v, tc.def); got != tc.want {
			t.Errorf("Positive(%d, %d) = %d, want %d", tc.v, tc.def, got, tc.want)
		}
	}
	if got := Positive(-time.Second, time.Minute); got != time.Minute {
		t.Errorf("Positive(-1s, 1m) = %v", got)
	}
	if got := Positive(uint32(0), 3); got != 3 {
		t.Errorf("Positive(uint32 0, 3) = %d", got)
	}
	if got := Positive(0.5, 2); got != 0.5 {
		t.Errorf("Positive(0.5, 2) = %v", got)
	}
	if got := Positive(int32(-2), 9); got != 9 {
		t.Errorf("Positive(int32 -2, 9) = %d", got)
	}
}
