package netem

import "math"

// Scale converts a probability or correlation fraction (0..1) to the
// kernel's u32 scale, rounding half to even as tc's rint() does.
func Scale(fraction float64) uint32 {
	if fraction <= 0 {
		return 0
	}
	if fraction >= 1 {
		return math.MaxUint32
	}
	return uint32(math.RoundToEven(fraction * math.MaxUint32))
}

// Unscale is the inverse of Scale, for reports.
func Unscale(scaled uint32) float64 { return float64(scaled) / math.MaxUint32 }
