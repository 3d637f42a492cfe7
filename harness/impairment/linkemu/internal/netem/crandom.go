package netem

// Correlated is netem's "correlated" generator (get_crandom): each output
// is an exponentially weighted mix of a fresh uniform draw and the previous
// output. It narrows the distribution rather than producing true
// correlation, so P(output <= x) differs from x when rho > 0.
type Correlated struct {
	Rho  uint32 // correlation scaled to 0..2^32-1
	Last uint32 // previous output; the kernel starts it from an unseeded draw
}

// Next returns the next correlated draw. With Rho == 0 it returns the raw
// draw and leaves Last untouched, as the kernel does.
func (c *Correlated) Next(src Source) uint32 {
	if c == nil || c.Rho == 0 {
		return src.Uint32()
	}
	value := uint64(src.Uint32())
	rho := uint64(c.Rho) + 1
	answer := (value*((1<<32)-rho) + uint64(c.Last)*rho) >> 32
	c.Last = uint32(answer)
	return c.Last
}
