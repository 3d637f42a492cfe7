package netem

import (
	"fmt"
	"math"
	"math/rand"
	"testing"
)

// profile is one row of the issue's impairment table, per egress.
type profile struct {
	name                       string
	delayMs, jitterMs          float64
	loss, reorder, reorderCorr float64
}

var profiles = []profile{
	{"baseline", 0, 0, 0, 0, 0},
	{"low", 2, 2, 0.0025, 0.005, 0.25},
	{"medium", 4, 7, 0.01, 0.025, 0.5},
	{"high", 6, 15, 0.025, 0.05, 0.5},
	// Without correlation the reorder rule sends 5 % ahead, as configured.
	{"high-uncorrelated-reorder", 6, 15, 0.025, 0.05, 0},
}

func (p profile) params() Params {
	out := Params{
		LatencyNs: int64(p.delayMs * 1e6),
		JitterNs:  int32(p.jitterMs * 1e6),
		Loss:      LossParams{Model: LossRandom, Probability: Scale(p.loss)},
		Limit:     1 << 20,
	}
	if p.reorder > 0 {
		out.Reorder, out.ReorderCorr, out.Gap = Scale(p.reorder), Scale(p.reorderCorr), 1
	}
	return out
}

// expectedBelow is P(X <= p) for netem's correlated generator in its
// stationary regime, X_n = (1-w)U_n + w X_{n-1}, w = (rho+1)/2^32,
// estimated with an independent float64 generator.
func expectedBelow(p, rho float64, n int) float64 {
	if rho == 0 {
		return p
	}
	r := rand.New(rand.NewSource(99))
	w := float64(uint64(Scale(rho))+1) / (1 << 32)
	x := 0.5
	for i := 0; i < 1000; i++ {
		x = (1-w)*r.Float64() + w*x
	}
	hits := 0
	for i := 0; i < n; i++ {
		x = (1-w)*r.Float64() + w*x
		if x <= p {
			hits++
		}
	}
	return float64(hits) / float64(n)
}

// expectedAppliedMean is E[max(0, D)] for D uniform on [mu-s, mu+s).
func expectedAppliedMean(mu, s float64) float64 {
	if s == 0 {
		return mu
	}
	lo, hi := mu-s, mu+s
	if lo >= 0 {
		return mu
	}
	return hi * hi / (2 * (hi - lo))
}

type timed struct{ arrival int64 }

func TestProfilesMatchTheModel(t *testing.T) {
	const n = 400_000
	const spacing = 50_000 // 20k packets/s
	for _, pr := range profiles {
		t.Run(pr.name, func(t *testing.T) {
			lost := 0
			ops := Ops[*timed]{
				Clone:   func(x *timed) (*timed, bool) { return &timed{x.arrival}, true },
				FlipBit: func(*timed, int, uint) {},
				Drop:    func(*timed) { lost++ },
			}
			q := NewQdisc(pr.params(), 42, ops)
			lo, hi := int64(math.MaxInt64), int64(math.MinInt64)
			var sum, sq float64
			delivered := 0
			for i := 0; i < n; i++ {
				now := int64(i) * spacing
				q.Enqueue(now, &timed{now}, 1500)
				for {
					x, _, tts, ok := q.Dequeue(now)
					if !ok {
						break
					}
					delivered++
					raw := tts - x.arrival
					if raw != 0 || pr.jitterMs == 0 {
						lo, hi = min(lo, raw), max(hi, raw)
						sum += float64(raw)
						sq += float64(raw) * float64(raw)
					}
				}
			}
			for {
				x, _, tts, ok := q.Dequeue(math.MaxInt64)
				if !ok {
					break
				}
				delivered++
				raw := tts - x.arrival
				lo, hi = min(lo, raw), max(hi, raw)
				sum += float64(raw)
				sq += float64(raw) * float64(raw)
			}
			st := q.Stats

			// Loss: binomial, 5 standard errors.
			lossRate := float64(st.DroppedLoss) / n
			tol := 5*math.Sqrt(pr.loss*(1-pr.loss)/n) + 1e-9
			if math.Abs(lossRate-pr.loss) > tol {
				t.Errorf("loss %.5f, want %.5f +- %.5f", lossRate, pr.loss, tol)
			}

			// Reorder by rule: the fraction of kept packets whose correlated
			// draw fell below the probability.
			kept := float64(n) - float64(st.DroppedLoss)
			want := expectedBelow(pr.reorder, pr.reorderCorr, 20_000_000)
			got := float64(st.Reordered)
			// Poisson-like with clustering slack.
			slack := 5*math.Sqrt(want*kept*3) + 3
			if math.Abs(got-want*kept) > slack {
				t.Errorf("reordered %d of %.0f, model expects %.1f +- %.1f", st.Reordered, kept, want*kept, slack)
			}

			// Delay: mean over delayed packets, bounds and spread.
			mu, s := pr.delayMs*1e6, pr.jitterMs*1e6
			delayed := float64(st.Delay.Count - st.Reordered)
			meanApplied := float64(st.Delay.SumNs) / delayed
			wantMean := expectedAppliedMean(mu, s)
			mtol := 5*s/math.Sqrt(3)/math.Sqrt(delayed) + 1
			if math.Abs(meanApplied-wantMean) > mtol {
				t.Errorf("mean applied delay %.0f ns, want %.0f +- %.0f", meanApplied, wantMean, mtol)
			}
			if lo < int64(mu-s) || hi >= int64(mu+s)+1 {
				t.Errorf("raw delays span [%d, %d], outside [%.0f, %.0f)", lo, hi, mu-s, mu+s)
			}
			if s > 0 && (float64(lo) > mu-s+0.01*s || float64(hi) < mu+s-0.01*s) {
				t.Errorf("raw delays span [%d, %d], do not fill [%.0f, %.0f)", lo, hi, mu-s, mu+s)
			}
			cnt := float64(delivered)
			sd := math.Sqrt(sq/cnt - (sum/cnt)*(sum/cnt))
			if s > 0 && math.Abs(sd-s/math.Sqrt(3)) > 0.02*s {
				t.Errorf("delay sd %.0f, want uniform sd %.0f", sd, s/math.Sqrt(3))
			}
			if delivered+lost != n {
				t.Errorf("delivered %d + lost %d != %d offered", delivered, lost, n)
			}
			t.Logf("%s: loss %.4f%% reordered(rule) %d/%0.f (model %.2e) mean delay %.3f ms [%.3f, %.3f] sd %.3f ms",
				pr.name, 100*lossRate, st.Reordered, kept, want, meanApplied/1e6, float64(lo)/1e6, float64(hi)/1e6, sd/1e6)
		})
	}
}

// burstStats returns the loss rate and mean burst length of a loss model.
func burstStats(p LossParams, seed uint64, n int) (rate, meanBurst float64) {
	ls := newLossState(p, NewPrandom(AuxSeed(seed)).Uint32())
	src := NewPrandom(seed)
	losses, bursts, run := 0, 0, 0
	for i := 0; i < n; i++ {
		if ls.event(src) {
			losses++
			run++
			continue
		}
		if run > 0 {
			bursts++
			run = 0
		}
	}
	if run > 0 {
		bursts++
	}
	if bursts == 0 {
		return 0, 0
	}
	return float64(losses) / float64(n), float64(losses) / float64(bursts)
}

func TestCorrelatedRandomLossLengthensBurstsButCollapsesRate(t *testing.T) {
	// netem's correlation narrows the draw distribution: "loss 20% 50%"
	// loses far fewer than 20% of packets. At the realised rate its bursts
	// are longer than independent losses at that same rate, but only a
	// little. Use `state` or `gemodel` for real bursts.
	const n = 4_000_000
	corrRate, corrBurst := burstStats(LossParams{Model: LossRandom, Probability: Scale(0.2), Correlation: Scale(0.5)}, 5, n)
	indRate, indBurst := burstStats(LossParams{Model: LossRandom, Probability: Scale(corrRate)}, 5, n)
	t.Logf("loss 20%% corr 50%%: rate %.4f mean burst %.3f; independent at that rate: rate %.4f burst %.3f",
		corrRate, corrBurst, indRate, indBurst)
	if corrRate > 0.05 {
		t.Errorf("correlated loss realised %.4f, netem's generator should collapse it well below 20%%", corrRate)
	}
	if corrBurst < indBurst*1.05 {
		t.Errorf("correlated bursts %.3f not longer than independent %.3f", corrBurst, indBurst)
	}
	want := expectedBelow(0.2, 0.5, 20_000_000)
	if math.Abs(corrRate-want) > 0.1*want {
		t.Errorf("correlated loss rate %.5f, model expects %.5f", corrRate, want)
	}
}

func TestStateAndGemodelProduceBursts(t *testing.T) {
	const n = 4_000_000
	cases := []struct {
		name      string
		p         LossParams
		rate, len float64
	}{
		// 100 good packets on average, then a burst of mean 1/p31 = 4.
		{"state", LossParams{Model: LossState, P13: Scale(0.01), P31: Scale(0.25), P23: math.MaxUint32}, 0.04 / 1.04, 4},
		// Bad state lasts 1/r = 4 packets, all lost (1-h = 1).
		{"gemodel", LossParams{Model: LossGemodel, P: Scale(0.01), R: Scale(0.25), H: 0}, 0.01 / 0.26, 4},
	}
	_, indBurst := burstStats(LossParams{Model: LossRandom, Probability: Scale(0.0385)}, 9, n)
	for _, c := range cases {
		rate, burst := burstStats(c.p, 9, n)
		t.Logf("%s: rate %.4f (want %.4f) mean burst %.3f (want %.1f, independent %.3f)", c.name, rate, c.rate, burst, c.len, indBurst)
		if math.Abs(rate-c.rate) > 0.05*c.rate {
			t.Errorf("%s: loss rate %.4f, want %.4f", c.name, rate, c.rate)
		}
		if math.Abs(burst-c.len) > 0.05*c.len {
			t.Errorf("%s: mean burst %.3f, want %.1f", c.name, burst, c.len)
		}
		if burst < 3*indBurst {
			t.Errorf("%s: bursts %.3f not clearly longer than independent %.3f", c.name, burst, indBurst)
		}
	}
}

func Example_correlationCollapse() {
	for _, pr := range profiles[1:4] {
		fmt.Printf("%s: reorder %.1f%% corr %.0f%% -> sent ahead by rule %.3f%%\n",
			pr.name, 100*pr.reorder, 100*pr.reorderCorr, 100*expectedBelow(pr.reorder, pr.reorderCorr, 20_000_000))
	}
	// Output:
	// low: reorder 0.5% corr 25% -> sent ahead by rule 0.000%
	// medium: reorder 2.5% corr 50% -> sent ahead by rule 0.000%
	// high: reorder 5.0% corr 50% -> sent ahead by rule 0.002%
}
