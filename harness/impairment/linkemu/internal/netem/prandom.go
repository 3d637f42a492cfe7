// Package netem is a pure model of the Linux netem qdisc: its random
// generators, loss models, delay draws and time-ordered queue. It knows
// nothing about sockets or wall clocks; callers pass time in nanoseconds.
package netem

// Source yields uniformly distributed 32-bit words. The model reads every
// random draw through it so tests can script exact sequences.
type Source interface {
	Uint32() uint32
}

// Prandom is L'Ecuyer's combined Tausworthe generator LFSR113, the
// generator behind the kernel's prandom_u32_state(), seeded the way the
// kernel seeds a netem qdisc from TCA_NETEM_PRNG_SEED. Using the same
// generator and seeding means a seed names the same draw sequence as
// `tc qdisc ... netem seed N` on kernels that use LFSR113.
type Prandom struct {
	s1, s2, s3, s4 uint32
}

// NewPrandom returns a generator seeded from a 64-bit seed.
func NewPrandom(seed uint64) *Prandom {
	p := &Prandom{}
	p.Seed(seed)
	return p
}

// Seed folds the 64-bit seed to 32 bits and lifts each component above
// the minimum its recurrence needs (a component below it would stay stuck).
func (p *Prandom) Seed(seed uint64) {
	i := uint32((seed >> 32) ^ (seed << 10) ^ seed)
	p.s1 = liftSeed(i, 2)
	p.s2 = liftSeed(i, 8)
	p.s3 = liftSeed(i, 16)
	p.s4 = liftSeed(i, 128)
}

func liftSeed(x, minimum uint32) uint32 {
	if x < minimum {
		return x + minimum
	}
	return x
}

// tausworthe advances one LFSR component: (s&c)<<d ^ ((s<<a)^s)>>b.
func tausworthe(s, a, b, c, d uint32) uint32 {
	return ((s & c) << d) ^ (((s << a) ^ s) >> b)
}

// Uint32 advances all four components and returns their XOR.
func (p *Prandom) Uint32() uint32 {
	p.s1 = tausworthe(p.s1, 6, 13, 0xFFFFFFFE, 18)
	p.s2 = tausworthe(p.s2, 2, 27, 0xFFFFFFF8, 2)
	p.s3 = tausworthe(p.s3, 13, 21, 0xFFFFFFF0, 7)
	p.s4 = tausworthe(p.s4, 3, 12, 0xFFFFFF80, 13)
	return p.s1 ^ p.s2 ^ p.s3 ^ p.s4
}

// Below maps one draw to [0, n) by multiply-shift; n must be > 0. Its bias
// (under n/2^32) is irrelevant for frame-sized bounds.
func Below(src Source, n uint32) uint32 {
	return uint32((uint64(src.Uint32()) * uint64(n)) >> 32)
}
