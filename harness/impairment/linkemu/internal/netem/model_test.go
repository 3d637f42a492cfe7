package netem

import (
	"math"
	"testing"
)

// script is a Source that replays fixed draws and fails the test when the
// model asks for more than were scripted.
type script struct {
	t     *testing.T
	draws []uint32
	used  int
}

func (s *script) Uint32() uint32 {
	if s.used >= len(s.draws) {
		s.t.Fatalf("model drew more than the %d scripted values", len(s.draws))
	}
	v := s.draws[s.used]
	s.used++
	return v
}

// zeros is an aux source that always returns 0.
type zeros struct{}

func (zeros) Uint32() uint32 { return 0 }

type pkt struct {
	id    int
	bytes []byte
}

func testOps(dropped *[]int) Ops[*pkt] {
	return Ops[*pkt]{
		Clone: func(p *pkt) (*pkt, bool) {
			b := append([]byte(nil), p.bytes...)
			return &pkt{id: p.id + 1000, bytes: b}, true
		},
		FlipBit: func(p *pkt, i int, bit uint) { p.bytes[i] ^= 1 << bit },
		Drop:    func(p *pkt) { *dropped = append(*dropped, p.id) },
	}
}

func TestPrandomSeedAndFirstOutputByHand(t *testing.T) {
	p := NewPrandom(0)
	// seed 0 folds to 0, so every component is lifted to its minimum.
	if p.s1 != 2 || p.s2 != 8 || p.s3 != 16 || p.s4 != 128 {
		t.Fatalf("seed 0 state = %d %d %d %d, want 2 8 16 128", p.s1, p.s2, p.s3, p.s4)
	}
	// s1' = (2<<18) ^ 0, s2' = 8<<2, s3' = 16<<7, s4' = 128<<13; XOR of them.
	want := uint32(524288 ^ 32 ^ 2048 ^ 1048576)
	if got := p.Uint32(); got != want {
		t.Fatalf("first output = %d, want %d", got, want)
	}
	// The high word of the seed is folded in: 1<<32 folds to 1.
	q := NewPrandom(1 << 32)
	if q.s1 != 3 || q.s2 != 9 || q.s3 != 17 || q.s4 != 129 {
		t.Fatalf("seed 2^32 state = %d %d %d %d, want 3 9 17 129", q.s1, q.s2, q.s3, q.s4)
	}
}

func TestPrandomIsRoughlyUniform(t *testing.T) {
	p := NewPrandom(42)
	const n = 1 << 20
	var sum float64
	var buckets [16]int
	for i := 0; i < n; i++ {
		v := p.Uint32()
		sum += float64(v)
		buckets[v>>28]++
	}
	mean := sum / n / math.MaxUint32
	if math.Abs(mean-0.5) > 0.002 {
		t.Fatalf("mean of draws = %.4f, want 0.5", mean)
	}
	for i, c := range buckets {
		if math.Abs(float64(c)-n/16.0) > 5*math.Sqrt(n/16.0) {
			t.Fatalf("bucket %d holds %d draws, want about %d", i, c, n/16)
		}
	}
}

func TestScaleMatchesTcRounding(t *testing.T) {
	cases := map[float64]uint32{0: 0, 1: math.MaxUint32, 0.5: 1 << 31, 0.25: 1073741824}
	for f, want := range cases {
		if got := Scale(f); got != want {
			t.Errorf("Scale(%v) = %d, want %d", f, got, want)
		}
	}
}

func TestCorrelatedWithoutRhoReturnsRawDraws(t *testing.T) {
	src := &script{t: t, draws: []uint32{7, 0xFFFFFFFF, 123456}}
	c := Correlated{Rho: 0, Last: 99}
	for _, want := range []uint32{7, 0xFFFFFFFF, 123456} {
		if got := c.Next(src); got != want {
			t.Fatalf("rho=0 gave %d, want the raw draw %d", got, want)
		}
	}
	if c.Last != 99 {
		t.Fatalf("rho=0 changed last to %d", c.Last)
	}
}

func TestCorrelatedMixesByHand(t *testing.T) {
	// rho = 2^31-1 means weight (rho+1)/2^32 = 1/2 on the previous output.
	c := Correlated{Rho: 0x7FFFFFFF, Last: 0}
	src := &script{t: t, draws: []uint32{0xFFFFFFFF, 0, 0x80000000}}
	// (0xFFFFFFFF * 2^31 + 0) >> 32 = 2^31 - 1
	if got := c.Next(src); got != 0x7FFFFFFF {
		t.Fatalf("first mix = %#x, want 0x7fffffff", got)
	}
	// (0 * 2^31 + 0x7FFFFFFF * 2^31) >> 32 = 0x3FFFFFFF
	if got := c.Next(src); got != 0x3FFFFFFF {
		t.Fatalf("second mix = %#x, want 0x3fffffff", got)
	}
	// (0x80000000*2^31 + 0x3FFFFFFF*2^31) >> 32 = (0xBFFFFFFF*2^31)>>32 = 0x5FFFFFFF
	if got := c.Next(src); got != 0x5FFFFFFF {
		t.Fatalf("third mix = %#x, want 0x5fffffff", got)
	}
	// Full correlation repeats the previous output forever.
	full := Correlated{Rho: math.MaxUint32, Last: 1234}
	src2 := &script{t: t, draws: []uint32{0xFFFFFFFF, 5}}
	if full.Next(src2) != 1234 || full.Next(src2) != 1234 {
		t.Fatal("rho=100% must repeat the previous output")
	}
}

func TestUniformDelayDrawByHand(t *testing.T) {
	const mu, sigma = 2_000_000, 2_000_000
	cases := map[uint32]int64{
		0:          0,
		3_999_999:  3_999_999,
		4_000_000:  0,
		0xFFFFFFFF: 2_967_295, // 4294967295 mod 4e6
	}
	for rnd, want := range cases {
		src := &script{t: t, draws: []uint32{rnd}}
		if got := TableDist(mu, sigma, &Correlated{}, src, nil); got != want {
			t.Errorf("uniform draw for rnd=%d = %d, want %d", rnd, got, want)
		}
	}
	// No jitter: the latency comes back and no draw is consumed.
	src := &script{t: t}
	if got := TableDist(5, 0, &Correlated{}, src, nil); got != 5 {
		t.Fatalf("sigma=0 gave %d, want 5", got)
	}
}

func TestUniformDelayBoundsAndMean(t *testing.T) {
	const mu, sigma = 6_000_000, 15_000_000
	src := NewPrandom(7)
	var sum float64
	lo, hi := int64(math.MaxInt64), int64(math.MinInt64)
	const n = 500_000
	for i := 0; i < n; i++ {
		d := TableDist(mu, sigma, &Correlated{}, src, nil)
		sum += float64(d)
		lo, hi = min(lo, d), max(hi, d)
	}
	if lo < mu-sigma || hi >= mu+sigma {
		t.Fatalf("draws span [%d, %d], outside [%d, %d)", lo, hi, mu-sigma, mu+sigma)
	}
	if lo > mu-sigma+100_000 || hi < mu+sigma-100_000 {
		t.Fatalf("draws span [%d, %d], do not reach the bounds", lo, hi)
	}
	// sd of uniform on 2*sigma is sigma/sqrt(3); 5 standard errors.
	tol := 5 * sigma / math.Sqrt(3) / math.Sqrt(n)
	if mean := sum / n; math.Abs(mean-mu) > tol {
		t.Fatalf("mean draw %.0f, want %d +- %.0f", mean, mu, tol)
	}
}

func TestTableDelayDrawByHand(t *testing.T) {
	table := Table{-8192, 0, 8192, 16384}
	cases := map[uint32]int64{
		0: 4000, // t=-1 sd: (1000*-8192 - 4096)/8192 truncates to -1000
		1: 5000,
		2: 6000, // (1000*8192 + 4096)/8192 truncates to 1000
		3: 7000,
		6: 6000, // index 6 mod 4 = 2
	}
	for rnd, want := range cases {
		src := &script{t: t, draws: []uint32{rnd}}
		if got := TableDist(5000, 1000, &Correlated{}, src, table); got != want {
			t.Errorf("table draw for rnd=%d = %d, want %d", rnd, got, want)
		}
	}
	// sigma above DIST_SCALE uses the split multiplication.
	src := &script{t: t, draws: []uint32{2}}
	if got := TableDist(0, 20000, &Correlated{}, src, table); got != 20000 {
		t.Fatalf("sigma=20000 at +1 sd gave %d, want 20000", got)
	}
}

func TestGeneratedTablesAreStandardised(t *testing.T) {
	for _, name := range []string{DistNormal, DistPareto, DistParetoNormal} {
		table, err := BuildTable(name)
		if err != nil || len(table) != TableSize {
			t.Fatalf("%s: table of %d entries, err %v", name, len(table), err)
		}
		var sum, sq float64
		for _, v := range table {
			x := float64(v) / DistScale
			sum += x
			sq += x * x
		}
		mean := sum / TableSize
		sd := math.Sqrt(sq/TableSize - mean*mean)
		// Tables are standardised after int16 saturation.
		if math.Abs(mean) > 0.001 || math.Abs(sd-1) > 0.001 {
			t.Errorf("%s: mean %.4f sd %.4f, want about 0 and 1", name, mean, sd)
		}
		for i := 1; i < len(table); i++ {
			if table[i] < table[i-1] {
				t.Fatalf("%s: table not monotone at %d", name, i)
			}
		}
	}
	normal, _ := BuildTable(DistNormal)
	if absInt(int(normal[0])+int(normal[TableSize-1])) > 1 ||
		absInt(int(normal[TableSize/2])+int(normal[TableSize/2-1])) > 1 {
		t.Fatal("normal table is not symmetric")
	}
	pareto, _ := BuildTable(DistPareto)
	// Pareto is right-skewed: its median lies below its mean.
	if pareto[TableSize/2] >= 0 {
		t.Fatalf("pareto median %d, want below 0", pareto[TableSize/2])
	}
	if _, err := BuildTable("cauchy"); err == nil {
		t.Fatal("unknown distribution accepted")
	}
}

func absInt(x int) int {
	if x < 0 {
		return -x
	}
	return x
}
