package netem

// DelayBucketNs is the width of one bucket of the applied-delay histogram.
const DelayBucketNs = 250_000

// DelayBuckets is the number of histogram buckets; the last one also
// collects every delay beyond the histogram's range (100 ms).
const DelayBuckets = 401

// DelayStats summarises the delays the model scheduled (time_to_send minus
// arrival, clipped at zero), so a run can compare them with the profile.
type DelayStats struct {
	Count   uint64
	SumNs   int64
	MinNs   int64
	MaxNs   int64
	Buckets [DelayBuckets]uint64
}

// Add records one applied delay.
func (d *DelayStats) Add(ns int64) {
	if ns < 0 {
		ns = 0
	}
	if d.Count == 0 || ns < d.MinNs {
		d.MinNs = ns
	}
	if ns > d.MaxNs {
		d.MaxNs = ns
	}
	d.Count++
	d.SumNs += ns
	b := ns / DelayBucketNs
	if b >= DelayBuckets {
		b = DelayBuckets - 1
	}
	d.Buckets[b]++
}

// MeanNs is the mean applied delay, 0 when nothing was recorded.
func (d *DelayStats) MeanNs() float64 {
	if d.Count == 0 {
		return 0
	}
	return float64(d.SumNs) / float64(d.Count)
}

// Stats counts the model's decisions. Duplicates are counted once in
// Duplicated and then go through loss, corrupt, limit and delay like any
// packet, so their fates also appear in the other counters.
type Stats struct {
	Received     uint64 // packets offered to Enqueue (duplicates excluded)
	DroppedLoss  uint64
	DroppedLimit uint64
	Duplicated   uint64
	Corrupted    uint64
	Reordered    uint64 // sent ahead of the queue by the reorder rule
	Dequeued     uint64
	Delay        DelayStats
}
