package netem

import (
	"fmt"
	"math"
	"sort"
)

// DistScale is NETEM_DIST_SCALE: table entries are quantiles in units of
// the standard deviation, multiplied by this factor.
const DistScale = 8192

// TableSize is the number of quantiles per generated table, as in the
// tables iproute2 ships for normal, pareto and paretonormal.
const TableSize = 4096

// Distribution names accepted by the configuration.
const (
	DistUniform      = "uniform"
	DistNormal       = "normal"
	DistPareto       = "pareto"
	DistParetoNormal = "paretonormal"
)

// Distributions lists the valid distribution names, for error messages.
var Distributions = []string{DistUniform, DistNormal, DistPareto, DistParetoNormal}

// Table maps a uniform index to a standardised quantile scaled by DistScale.
type Table []int16

// paretoShape is the shape parameter of the Pareto tables; 3 is the
// smallest integer shape with finite variance, so the table can be
// standardised to unit standard deviation.
const paretoShape = 3.0

// BuildTable generates the quantile table of a named distribution from its
// definition. "uniform" has no table (nil): netem then uses its built-in
// uniform draw.
func BuildTable(name string) (Table, error) {
	switch name {
	case DistUniform, "":
		return nil, nil
	case DistNormal:
		return tableFromQuantile(normalQuantile), nil
	case DistPareto:
		return tableFromQuantile(paretoStdQuantile), nil
	case DistParetoNormal:
		return paretoNormalTable(), nil
	}
	return nil, fmt.Errorf("unknown distribution %q", name)
}

// normalQuantile is the inverse CDF of the standard normal distribution.
func normalQuantile(p float64) float64 {
	return math.Sqrt2 * math.Erfinv(2*p-1)
}

// paretoStdQuantile is the inverse CDF of a Pareto(shape 3, scale 1)
// variable shifted and scaled to mean 0 and standard deviation 1.
func paretoStdQuantile(p float64) float64 {
	a := paretoShape
	mean := a / (a - 1)
	sd := math.Sqrt(a/(a-2)) / (a - 1)
	x := math.Pow(1-p, -1/a)
	return (x - mean) / sd
}

// tableFromQuantile samples the quantile function at the centre of each of
// TableSize equal-probability cells.
func tableFromQuantile(q func(float64) float64) Table {
	values := make([]float64, TableSize)
	for i := range values {
		values[i] = q((float64(i) + 0.5) / TableSize)
	}
	return standardisedTable(values)
}

// standardisedTable turns sorted standardised values into table entries.
// A 16-bit table saturates at about +-4 standard deviations, which for the
// heavy Pareto tail would cut a quarter of the spread; the values are
// therefore rescaled and shifted until the saturated table itself has mean
// 0 and standard deviation 1, so that latency is the realised mean and
// jitter the realised standard deviation.
func standardisedTable(values []float64) Table {
	a, b := 1.0, 0.0
	t := make(Table, len(values))
	for iter := 0; iter < 50; iter++ {
		var sum, sq float64
		for i, v := range values {
			t[i] = scaleToEntry(a*v + b)
			x := float64(t[i]) / DistScale
			sum += x
			sq += x * x
		}
		n := float64(len(values))
		mean := sum / n
		sd := math.Sqrt(sq/n - mean*mean)
		if math.Abs(mean) < 1e-4 && math.Abs(sd-1) < 1e-4 {
			break
		}
		a, b = a/sd, (b-mean)/sd
	}
	return t
}

// scaleToEntry converts a standardised value to a table entry, saturating
// at the int16 range.
func scaleToEntry(x float64) int16 {
	v := math.Round(x * DistScale)
	if v > math.MaxInt16 {
		return math.MaxInt16
	}
	if v < math.MinInt16 {
		return math.MinInt16
	}
	return int16(v)
}

// paretoNormalTable builds the table of Y = 0.25*P + 0.75*N (P the
// standardised Pareto, N standard normal, independent). The convolution is
// evaluated on a product grid of quantiles of both variables; sorting that
// grid gives Y's quantiles.
func paretoNormalTable() Table {
	const grid = 512
	const paretoWeight, normalWeight = 0.25, 0.75
	pq := make([]float64, grid)
	nq := make([]float64, grid)
	for i := 0; i < grid; i++ {
		p := (float64(i) + 0.5) / grid
		pq[i] = paretoStdQuantile(p)
		nq[i] = normalQuantile(p)
	}
	samples := make([]float64, 0, grid*grid)
	for _, a := range pq {
		for _, b := range nq {
			samples = append(samples, paretoWeight*a+normalWeight*b)
		}
	}
	sort.Float64s(samples)
	values := make([]float64, TableSize)
	per := len(samples) / TableSize
	for i := range values {
		values[i] = samples[i*per+per/2]
	}
	return standardisedTable(values)
}

// TableDist is netem's tabledist(): a delay with centre mu and spread sigma
// (both ns). Without a table the result is uniform on [mu-sigma, mu+sigma);
// with a table sigma is the standard deviation. The result may be negative;
// netem then sends the packet as soon as it can.
func TableDist(mu int64, sigma int32, state *Correlated, src Source, table Table) int64 {
	if sigma == 0 {
		return mu
	}
	rnd := state.Next(src)
	if table == nil {
		return int64(rnd%(2*uint32(sigma))) + mu - int64(sigma)
	}
	t := int64(table[rnd%uint32(len(table))])
	x := int64(sigma%DistScale) * t
	if x >= 0 {
		x += DistScale / 2
	} else {
		x -= DistScale / 2
	}
	return x/DistScale + int64(sigma/DistScale)*t + mu
}
