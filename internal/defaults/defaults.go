package defaults

// Positive returns def when v is zero or less, and v otherwise (a NaN
// is not less than zero, so it is returned as it is).
func Positive[T ~int | ~int32 | ~int64 | ~uint32 | ~float64](v, def T) T {
	if v <= 0 {
		return def
	}
	return v
}
