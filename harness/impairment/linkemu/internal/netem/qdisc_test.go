package netem

import (
	"math"
	"testing"
)

const ms = int64(1_000_000)

// drainIDs dequeues everything due at time now and returns the ids in order.
func drainIDs(q *Qdisc[*pkt], now int64) []int {
	var ids []int
	for {
		p, _, _, ok := q.Dequeue(now)
		if !ok {
			return ids
		}
		ids = append(ids, p.id)
	}
}

func sameInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestGapSendsEveryFifthPacketAhead(t *testing.T) {
	// reorder 100% gap 5: packets 1-4 delayed, the 5th sent at once, repeat.
	var dropped []int
	p := Params{LatencyNs: 10 * ms, Reorder: math.MaxUint32, Gap: 5}
	// Only the 5th, 10th and 15th packet draw the reorder generator.
	src := &script{t: t, draws: []uint32{0, 0, 0}}
	q := NewQdiscWithSources(p, src, zeros{}, testOps(&dropped))
	for i := 1; i <= 15; i++ {
		q.Enqueue(int64(i), &pkt{id: i}, 100)
	}
	if got := drainIDs(q, 20); !sameInts(got, []int{15, 10, 5}) {
		t.Fatalf("sent at once: %v, want [15 10 5] (head queue is LIFO)", got)
	}
	rest := drainIDs(q, 100*ms)
	if !sameInts(rest, []int{1, 2, 3, 4, 6, 7, 8, 9, 11, 12, 13, 14}) {
		t.Fatalf("delayed packets: %v", rest)
	}
	if q.Stats.Reordered != 3 {
		t.Fatalf("reordered counter %d, want 3", q.Stats.Reordered)
	}
}

func TestReorderDecisionOnFixedDraws(t *testing.T) {
	// gap 1: every packet draws; reordered when draw <= probability.
	var dropped []int
	p := Params{LatencyNs: 10 * ms, Reorder: 0x80000000, Gap: 1}
	src := &script{t: t, draws: []uint32{0x10, 0xF0000000, 0x80000000, 0x80000001}}
	q := NewQdiscWithSources(p, src, zeros{}, testOps(&dropped))
	for i := 1; i <= 4; i++ {
		q.Enqueue(0, &pkt{id: i}, 100)
	}
	if got := drainIDs(q, 0); !sameInts(got, []int{3, 1}) {
		t.Fatalf("sent at once: %v, want [3 1]", got)
	}
	if got := drainIDs(q, 10*ms); !sameInts(got, []int{2, 4}) {
		t.Fatalf("delayed: %v, want [2 4]", got)
	}
}

func TestGapThreeWithProbability(t *testing.T) {
	// gap 3: the first two packets after a reorder never draw; from the
	// third on, each draws until one is reordered.
	var dropped []int
	p := Params{LatencyNs: ms, Reorder: 0x40000000, Gap: 3}
	src := &script{t: t, draws: []uint32{0x50000000, 0x30000000, 0x10000000}}
	q := NewQdiscWithSources(p, src, zeros{}, testOps(&dropped))
	for i := 1; i <= 7; i++ {
		q.Enqueue(0, &pkt{id: i}, 100)
	}
	// 1,2 no draw; 3 draws 0x5.. (> p, delayed); 4 draws 0x3.. (reordered,
	// counter reset); 5,6 no draw; 7 draws 0x1.. (reordered).
	if got := drainIDs(q, 0); !sameInts(got, []int{7, 4}) {
		t.Fatalf("sent at once: %v, want [7 4]", got)
	}
}

func TestJitterReordersByTimeToSend(t *testing.T) {
	// latency 10ms, jitter 10ms, uniform: delay = rnd % 20ms + 0.
	var dropped []int
	p := Params{LatencyNs: 10 * ms, JitterNs: int32(10 * ms)}
	src := &script{t: t, draws: []uint32{uint32(15 * ms), uint32(2 * ms), uint32(9 * ms), uint32(2 * ms)}}
	q := NewQdiscWithSources(p, src, zeros{}, testOps(&dropped))
	for i := 1; i <= 4; i++ {
		q.Enqueue(0, &pkt{id: i}, 100)
	}
	if tts, ok := q.NextDue(); !ok || tts != 2*ms {
		t.Fatalf("next due %d, want %d", tts, 2*ms)
	}
	// Equal time_to_send keeps arrival order (2 before 4).
	if got := drainIDs(q, 20*ms); !sameInts(got, []int{2, 4, 3, 1}) {
		t.Fatalf("dequeue order %v, want [2 4 3 1]", got)
	}
}

func TestNegativeDelayIsSentImmediately(t *testing.T) {
	var dropped []int
	p := Params{LatencyNs: 1 * ms, JitterNs: int32(5 * ms)}
	src := &script{t: t, draws: []uint32{0}} // delay = 0 + 1ms - 5ms = -4ms
	q := NewQdiscWithSources(p, src, zeros{}, testOps(&dropped))
	q.Enqueue(100*ms, &pkt{id: 1}, 100)
	if got := drainIDs(q, 100*ms); !sameInts(got, []int{1}) {
		t.Fatalf("packet with negative delay not due at arrival: %v", got)
	}
	if q.Stats.Delay.MinNs != 0 || q.Stats.Delay.MaxNs != 0 {
		t.Fatalf("applied delay recorded as [%d, %d], want clipped to 0", q.Stats.Delay.MinNs, q.Stats.Delay.MaxNs)
	}
}

func TestRatePacingByHand(t *testing.T) {
	// 1,000,000 B/s: a 1000-byte packet takes 1 ms.
	var dropped []int
	p := Params{RateBytesPS: 1_000_000}
	q := NewQdiscWithSources(p, &script{t: t}, zeros{}, testOps(&dropped))
	for i := 1; i <= 3; i++ {
		q.Enqueue(0, &pkt{id: i}, 1000)
	}
	for i, want := range []int64{1 * ms, 2 * ms, 3 * ms} {
		_, _, tts, ok := q.Dequeue(want)
		if !ok || tts != want {
			t.Fatalf("packet %d sent at %d, want %d", i+1, tts, want)
		}
	}
	// Queue empty again: pacing restarts from the arrival time.
	q.Enqueue(10*ms, &pkt{id: 4}, 500)
	if tts, _ := q.NextDue(); tts != 10*ms+ms/2 {
		t.Fatalf("after idle, due at %d, want %d", tts, 10*ms+ms/2)
	}
}

func TestRateWithDelayUsesLastPacketAsReference(t *testing.T) {
	var dropped []int
	p := Params{LatencyNs: 5 * ms, RateBytesPS: 1_000_000}
	q := NewQdiscWithSources(p, &script{t: t}, zeros{}, testOps(&dropped))
	q.Enqueue(0, &pkt{id: 1}, 1000)    // 0 + 5ms + 1ms
	q.Enqueue(0, &pkt{id: 2}, 1000)    // delay 5ms - (6ms-0) < 0 -> 0; 6ms + 1ms
	q.Enqueue(4*ms, &pkt{id: 3}, 1000) // 5ms - (7-4)ms = 2ms; 7+2+1 = 10ms
	var got []int64
	for i := 0; i < 3; i++ {
		_, _, tts, _ := q.Dequeue(math.MaxInt64)
		got = append(got, tts)
	}
	want := []int64{6 * ms, 7 * ms, 10 * ms}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("send times %v, want %v", got, want)
		}
	}
}

func TestLimitDropsAtEnqueue(t *testing.T) {
	var dropped []int
	p := Params{LatencyNs: ms, Limit: 2}
	q := NewQdiscWithSources(p, &script{t: t}, zeros{}, testOps(&dropped))
	for i := 1; i <= 3; i++ {
		q.Enqueue(0, &pkt{id: i}, 100)
	}
	if !sameInts(dropped, []int{3}) || q.Stats.DroppedLimit != 1 {
		t.Fatalf("dropped %v (limit counter %d), want [3]", dropped, q.Stats.DroppedLimit)
	}
	drainIDs(q, ms)
	q.Enqueue(ms, &pkt{id: 4}, 100)
	if q.Len() != 1 {
		t.Fatalf("queue length %d after draining, want 1", q.Len())
	}
}

func TestDefaultLimitIsTcDefault(t *testing.T) {
	q := NewQdisc[*pkt](Params{LatencyNs: ms}, 1, testOps(new([]int)))
	if q.Params().Limit != 1000 {
		t.Fatalf("default limit %d, want 1000", q.Params().Limit)
	}
}

func TestRandomLossComparesWithDraw(t *testing.T) {
	var dropped []int
	p := Params{Loss: LossParams{Model: LossRandom, Probability: 0x40000000}}
	// Lost when probability >= draw.
	src := &script{t: t, draws: []uint32{0x40000000, 0x40000001, 0, 0xFFFFFFFF}}
	q := NewQdiscWithSources(p, src, zeros{}, testOps(&dropped))
	for i := 1; i <= 4; i++ {
		q.Enqueue(0, &pkt{id: i}, 100)
	}
	if !sameInts(dropped, []int{1, 3}) {
		t.Fatalf("lost %v, want [1 3]", dropped)
	}
}

func TestFourStateTransitionsByHand(t *testing.T) {
	// p13=0.1 p14=0.05 p31=0.5 p32=0.25 p23=0.8
	lp := LossParams{Model: LossState, P13: Scale(0.1), P14: Scale(0.05), P31: Scale(0.5), P32: Scale(0.25), P23: Scale(0.8)}
	ls := newLossState(lp, 0)
	steps := []struct {
		rnd   float64
		lost  bool
		state uint8
	}{
		{0.5, false, TxInGap},     // >= p13+p14: stay in gap
		{0.01, true, LostInGap},   // < p14: isolated loss
		{0.99, false, TxInGap},    // isolated loss always returns to gap (draw unused)
		{0.12, true, LostInBurst}, // in [p14, p13+p14): burst loss
		{0.9, true, LostInBurst},  // >= p32+p31: burst continues
		{0.1, false, TxInBurst},   // < p32: good packet within the burst
		{0.5, true, LostInBurst},  // < p23: back to loss
		{0.6, false, TxInGap},     // in [p32, p32+p31): burst ends
	}
	for i, s := range steps {
		src := &script{t: t, draws: []uint32{Scale(s.rnd)}}
		lost := ls.event(src)
		if lost != s.lost || ls.state != s.state {
			t.Fatalf("step %d (rnd %.2f): lost=%v state=%d, want lost=%v state=%d", i, s.rnd, lost, ls.state, s.lost, s.state)
		}
	}
}

func TestGilbertElliottTransitionsByHand(t *testing.T) {
	// p=0.1 r=0.3 h=0.2 (1-h = 0.8 loss in bad) k1=0.05 (loss in good)
	lp := LossParams{Model: LossGemodel, P: Scale(0.1), R: Scale(0.3), H: Scale(0.2), K1: Scale(0.05)}
	ls := newLossState(lp, 0)
	steps := []struct {
		transition, loss float64
		lost             bool
		state            uint8
	}{
		{0.5, 0.5, false, GoodState}, // stay good, 0.5 >= k1
		{0.5, 0.01, true, GoodState}, // stay good, lost with 1-k
		{0.05, 0.5, false, BadState}, // to bad, still judged by good's 1-k
		{0.9, 0.5, true, BadState},   // stay bad, 0.5 > h: lost
		{0.9, 0.1, false, BadState},  // stay bad, 0.1 <= h: delivered
		{0.2, 0.9, true, GoodState},  // to good, judged by bad's h: lost
	}
	for i, s := range steps {
		src := &script{t: t, draws: []uint32{Scale(s.transition), Scale(s.loss)}}
		lost := ls.event(src)
		if lost != s.lost || ls.state != s.state {
			t.Fatalf("step %d: lost=%v state=%d, want lost=%v state=%d", i, lost, ls.state, s.lost, s.state)
		}
	}
}

func TestDrawOrderDuplicateLossCorrupt(t *testing.T) {
	// duplicate, loss and corrupt all certain, no delay. Draw order:
	// original dup, original loss, original corrupt, duplicate loss,
	// duplicate corrupt. Loss of 1 of 2 copies leaves one to send.
	var dropped []int
	p := Params{
		Duplicate: math.MaxUint32,
		Loss:      LossParams{Model: LossRandom, Probability: 0x80000000},
		Corrupt:   math.MaxUint32,
	}
	// original: dup draw 0 (dup), loss draw 0 (lost -> count 1), corrupt 0.
	src := &script{t: t, draws: []uint32{0, 0, 0}}
	q := NewQdiscWithSources(p, src, zeros{}, testOps(&dropped))
	q.Enqueue(0, &pkt{id: 1, bytes: []byte{0, 0}}, 2)
	got, _, _, ok := q.Dequeue(0)
	if !ok || got.id != 1 || got.bytes[0] != 1 {
		t.Fatalf("expected the corrupted original (byte 0 bit 0 flipped), got %+v", got)
	}
	if q.Len() != 0 || q.Stats.Duplicated != 0 || q.Stats.DroppedLoss != 0 {
		t.Fatalf("one loss cancels the duplicate: len %d dup %d loss %d", q.Len(), q.Stats.Duplicated, q.Stats.DroppedLoss)
	}

	// Now the loss draw misses: both copies go through, the duplicate
	// (cloned before corruption) draws its own loss and corrupt.
	src = &script{t: t, draws: []uint32{0, 0xFFFFFFFF, 0, 0xFFFFFFFF, 0xFFFFFFFF}}
	q = NewQdiscWithSources(p, src, zeros{}, testOps(&dropped))
	q.Enqueue(0, &pkt{id: 1, bytes: []byte{0, 0}}, 2)
	ids := drainIDs(q, 0)
	if !sameInts(ids, []int{1001, 1}) || src.used != 5 {
		t.Fatalf("sent %v using %d draws, want duplicate first then original, 5 draws", ids, src.used)
	}
	if q.Stats.Duplicated != 1 || q.Stats.Corrupted != 2 {
		t.Fatalf("duplicated %d corrupted %d, want 1 and 2", q.Stats.Duplicated, q.Stats.Corrupted)
	}
}

func TestSameSeedSameDecisions(t *testing.T) {
	p := Params{LatencyNs: 6 * ms, JitterNs: int32(15 * ms), Loss: LossParams{Probability: Scale(0.025)},
		Reorder: Scale(0.05), ReorderCorr: Scale(0.5), Gap: 1}
	run := func(seed uint64) []int64 {
		var dropped []int
		q := NewQdisc(p, seed, testOps(&dropped))
		var out []int64
		for i := 0; i < 2000; i++ {
			q.Enqueue(int64(i)*100_000, &pkt{id: i}, 1500)
		}
		for {
			_, _, tts, ok := q.Dequeue(math.MaxInt64)
			if !ok {
				break
			}
			out = append(out, tts)
		}
		return append(out, int64(len(dropped)))
	}
	a, b, c := run(42), run(42), run(43)
	if len(a) != len(b) {
		t.Fatal("same seed, different outcome")
	}
	for i := range a {
		if a[i] != b[i] {
			t.Fatal("same seed, different outcome")
		}
	}
	if len(a) == len(c) {
		same := true
		for i := range a {
			same = same && a[i] == c[i]
		}
		if same {
			t.Fatal("different seeds gave identical outcomes")
		}
	}
}
