package netem

import "math"

// DefaultLimit is the queue limit tc uses when none is given.
const DefaultLimit = 1000

// Params is one egress configuration in the kernel's units: times in ns,
// probabilities and correlations scaled to 0..2^32-1 (1.0 -> 2^32-1).
type Params struct {
	LatencyNs     int64
	JitterNs      int32 // the kernel caps jitter to int32 as well
	DelayCorr     uint32
	Table         Table // nil: uniform jitter
	Loss          LossParams
	Duplicate     uint32
	DuplicateCorr uint32
	Corrupt       uint32
	CorruptCorr   uint32
	Reorder       uint32
	ReorderCorr   uint32
	Gap           uint32 // 0: no reordering by rule
	RateBytesPS   uint64 // 0: no rate limit
	Limit         uint32
}

// Impairs reports whether the parameters change anything about a packet
// stream; a port without impairment can bypass the queue entirely.
func (p *Params) Impairs() bool {
	lossy := p.Loss.Model != LossRandom || p.Loss.Probability != 0
	return p.LatencyNs != 0 || p.JitterNs != 0 || lossy || p.Duplicate != 0 ||
		p.Corrupt != 0 || p.Gap != 0 || p.RateBytesPS != 0
}

// Ops are the packet operations the model needs but does not implement.
type Ops[T any] struct {
	// Clone copies a packet for duplication; ok=false skips the duplicate.
	Clone func(item T) (dup T, ok bool)
	// FlipBit inverts one bit of a packet's bytes.
	FlipBit func(item T, byteIndex int, bit uint)
	// Drop releases a packet the model discards.
	Drop func(item T)
}

// Qdisc is a netem queue: Enqueue applies netem_enqueue()'s decisions in
// the kernel's order, Dequeue releases packets whose time has come.
//
// Seeded draws (rng) follow the kernel's order exactly: duplicate, loss,
// corrupt, reorder, delay. Draws the kernel takes from its unseeded pool
// (the initial "last" of each correlated generator and the corrupted bit
// position) come from a second generator (aux) derived from the same seed,
// so a run is deterministic without disturbing the seeded sequence.
type Qdisc[T any] struct {
	p   Params
	ops Ops[T]
	rng Source
	aux Source

	delayCor, dupCor, reorderCor, corruptCor Correlated
	loss                                     lossState

	counter uint32
	head    []entry[T] // reordered packets; last pushed leaves first
	fifo    tfifo[T]
	seq     uint64
	maxTTS  int64 // latest time_to_send queued; valid while Len() > 0

	Stats Stats
}

// AuxSeed derives the auxiliary generator's seed from the main seed.
func AuxSeed(seed uint64) uint64 { return seed ^ 0x9E3779B97F4A7C15 }

// NewQdisc builds a queue with generators seeded from seed.
func NewQdisc[T any](p Params, seed uint64, ops Ops[T]) *Qdisc[T] {
	return NewQdiscWithSources(p, NewPrandom(seed), NewPrandom(AuxSeed(seed)), ops)
}

// NewQdiscWithSources builds a queue reading its draws from rng and aux;
// tests use it to script exact sequences.
func NewQdiscWithSources[T any](p Params, rng, aux Source, ops Ops[T]) *Qdisc[T] {
	if p.Limit == 0 {
		p.Limit = DefaultLimit
	}
	q := &Qdisc[T]{p: p, ops: ops, rng: rng, aux: aux}
	q.delayCor = Correlated{Rho: p.DelayCorr, Last: aux.Uint32()}
	q.loss = newLossState(p.Loss, aux.Uint32())
	q.dupCor = Correlated{Rho: p.DuplicateCorr, Last: aux.Uint32()}
	q.reorderCor = Correlated{Rho: p.ReorderCorr, Last: aux.Uint32()}
	q.corruptCor = Correlated{Rho: p.CorruptCorr, Last: aux.Uint32()}
	return q
}

// Params returns the configuration the queue runs with (limit defaulted).
func (q *Qdisc[T]) Params() Params { return q.p }

// Len is the number of queued packets (sch->q.qlen).
func (q *Qdisc[T]) Len() int { return len(q.head) + q.fifo.Len() }

// PacketTimeNs is the serialisation time of size bytes at the configured
// rate (packet_time_ns() without cell overhead).
func (q *Qdisc[T]) PacketTimeNs(size int) int64 {
	return int64(uint64(size) * 1_000_000_000 / q.p.RateBytesPS)
}

// Enqueue offers one packet arriving at time now (ns). The packet is
// either queued or handed to Ops.Drop.
func (q *Qdisc[T]) Enqueue(now int64, item T, size int) {
	q.Stats.Received++
	q.enqueue(now, item, size, false)
}

func (q *Qdisc[T]) enqueue(now int64, item T, size int, isDuplicate bool) {
	count := 1
	if !isDuplicate && q.p.Duplicate != 0 && q.p.Duplicate >= q.dupCor.Next(q.rng) {
		count++
	}
	if q.loss.event(q.rng) {
		count--
	}
	if count == 0 {
		q.Stats.DroppedLoss++
		q.ops.Drop(item)
		return
	}

	var dup T
	hasDup := false
	if count > 1 {
		dup, hasDup = q.ops.Clone(item)
	}

	if q.p.Corrupt != 0 && q.p.Corrupt >= q.corruptCor.Next(q.rng) && size > 0 {
		q.ops.FlipBit(item, int(Below(q.aux, uint32(size))), uint(Below(q.aux, 8)))
		q.Stats.Corrupted++
	}

	if uint64(q.Len()) >= uint64(q.p.Limit) {
		q.Stats.DroppedLimit++
		q.ops.Drop(item)
		if hasDup {
			q.ops.Drop(dup)
		}
		return
	}

	// The kernel re-enqueues the duplicate at the root before deciding the
	// original's delay, so the duplicate consumes its draws first.
	if hasDup {
		q.Stats.Duplicated++
		q.enqueue(now, dup, size, true)
	}

	if q.p.Gap == 0 || q.counter < q.p.Gap-1 || q.p.Reorder < q.reorderCor.Next(q.rng) {
		delay := TableDist(q.p.LatencyNs, q.p.JitterNs, &q.delayCor, q.rng, q.p.Table)
		start := now
		if q.p.RateBytesPS != 0 {
			if q.Len() > 0 {
				// The last queued packet is the reference point: its time
				// counts against this packet's delay.
				delay -= q.maxTTS - now
				if delay < 0 {
					delay = 0
				}
				start = q.maxTTS
			}
			delay += q.PacketTimeNs(size)
		}
		tts := start + delay
		q.counter++
		q.noteQueued(tts)
		q.fifo.push(entry[T]{tts: tts, seq: q.nextSeq(), size: size, item: item})
		q.Stats.Delay.Add(tts - now)
		return
	}

	// Reorder: send at once, ahead of everything queued.
	q.counter = 0
	q.noteQueued(now)
	q.head = append(q.head, entry[T]{tts: now, seq: q.nextSeq(), size: size, item: item})
	q.Stats.Reordered++
	q.Stats.Delay.Add(0)
}

func (q *Qdisc[T]) nextSeq() uint64 {
	q.seq++
	return q.seq
}

func (q *Qdisc[T]) noteQueued(tts int64) {
	if q.Len() == 0 || tts > q.maxTTS {
		q.maxTTS = tts
	}
}

// NextDue is the earliest time_to_send queued; ok=false when empty.
// Reordered packets are due immediately (their time is their arrival).
func (q *Qdisc[T]) NextDue() (tts int64, ok bool) {
	if n := len(q.head); n > 0 {
		return q.head[n-1].tts, true
	}
	if q.fifo.Len() > 0 {
		return q.fifo.peek().tts, true
	}
	return math.MaxInt64, false
}

// Dequeue returns the next packet due at time now, if any, with its
// scheduled time_to_send.
func (q *Qdisc[T]) Dequeue(now int64) (item T, size int, tts int64, ok bool) {
	var e entry[T]
	if n := len(q.head); n > 0 {
		e = q.head[n-1]
		var zero entry[T]
		q.head[n-1] = zero
		q.head = q.head[:n-1]
	} else if q.fifo.Len() > 0 && q.fifo.peek().tts <= now {
		e = q.fifo.pop()
	} else {
		return item, 0, 0, false
	}
	q.Stats.Dequeued++
	if q.p.RateBytesPS != 0 && q.Len() > 0 && e.tts >= q.maxTTS {
		q.recomputeMax()
	}
	return e.item, e.size, e.tts, true
}

// recomputeMax rescans the queue after the latest packet left early (a
// reordered one or a tie); only needed for rate pacing.
func (q *Qdisc[T]) recomputeMax() {
	maxTTS := int64(math.MinInt64)
	for i := range q.head {
		if q.head[i].tts > maxTTS {
			maxTTS = q.head[i].tts
		}
	}
	for i := range q.fifo.h {
		if q.fifo.h[i].tts > maxTTS {
			maxTTS = q.fifo.h[i].tts
		}
	}
	q.maxTTS = maxTTS
}

// Drain hands every queued packet to Ops.Drop (shutdown).
func (q *Qdisc[T]) Drain() {
	for _, e := range q.head {
		q.ops.Drop(e.item)
	}
	q.head = q.head[:0]
	for q.fifo.Len() > 0 {
		q.ops.Drop(q.fifo.pop().item)
	}
}
