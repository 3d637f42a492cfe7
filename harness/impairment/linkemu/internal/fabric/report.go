//go:build linux

package fabric

import (
	"time"

	"vpnbench/linkemu/internal/netem"
)

// Report is the stats document written to stats_file.
type Report struct {
	Final    bool         `json:"final"`
	Seed     uint64       `json:"seed"`
	ElapsedS float64      `json:"elapsed_s"`
	Ports    []PortReport `json:"ports"`
	Errors   []string     `json:"errors"`
}

// PortReport counts what happened to frames entering one port, i.e. on
// the egress of the host behind it.
type PortReport struct {
	Interface   string `json:"interface"`
	Seed        uint64 `json:"seed"`
	Impaired    bool   `json:"impaired"`
	Received    uint64 `json:"frames_received"`
	Bytes       uint64 `json:"bytes"`
	Forwarded   uint64 `json:"forwarded"`
	BytesFwd    uint64 `json:"bytes_forwarded"`
	TxFrames    uint64 `json:"tx_frames"`
	DropLoss    uint64 `json:"dropped_loss"`
	DropLimit   uint64 `json:"dropped_limit"`
	Duplicated  uint64 `json:"duplicated"`
	Corrupted   uint64 `json:"corrupted"`
	Reordered   uint64 `json:"reordered"`
	Filtered    uint64 `json:"filtered"`
	Oversize    uint64 `json:"dropped_oversize"`
	SocketDrops uint64 `json:"dropped_socket"`
	TxErrors    uint64 `json:"tx_errors"`
	RecvErrors  uint64 `json:"rx_errors"`
	QueueLen    int    `json:"queue_len"`
	Delay       Delay  `json:"delay_us"`
	Lateness    Spread `json:"send_lateness_us"`
}

// Delay summarises the delays the model applied.
type Delay struct {
	Count     uint64   `json:"count"`
	Mean      float64  `json:"mean"`
	Min       float64  `json:"min"`
	Max       float64  `json:"max"`
	Histogram []Bucket `json:"histogram"`
}

// Bucket is one non-empty histogram bucket: delays below LessThanUs.
type Bucket struct {
	LessThanUs float64 `json:"lt_us"`
	Count      uint64  `json:"count"`
}

// Spread is how late frames left relative to their due time.
type Spread struct {
	Count uint64  `json:"count"`
	Mean  float64 `json:"mean"`
	Max   float64 `json:"max"`
}

// Snapshot reads every counter; safe while the switch runs.
func (s *Switch) Snapshot(final bool) Report {
	r := Report{Final: final, Seed: s.seed, ElapsedS: time.Since(s.epoch).Seconds(), Errors: []string{}}
	s.errMu.Lock()
	r.Errors = append(r.Errors, s.lastErrs...)
	s.errMu.Unlock()
	for _, p := range s.ports {
		s.collectDrops(p)
		pr := PortReport{
			Interface: p.cfg.Interface, Seed: p.cfg.Seed, Impaired: p.impaired,
			Received: p.c.received.Load(), Bytes: p.c.bytesReceived.Load(),
			Forwarded: p.c.forwarded.Load(), BytesFwd: p.c.bytesForwarded.Load(),
			TxFrames: p.c.txFrames.Load(), Filtered: p.c.filtered.Load(),
			Oversize: p.c.oversize.Load(), SocketDrops: p.c.socketDrops.Load(),
			TxErrors: p.c.txErrors.Load(), RecvErrors: p.c.recvErrors.Load(),
			Delay: Delay{Histogram: []Bucket{}},
		}
		if n := p.c.latenessCount.Load(); n > 0 {
			pr.Lateness = Spread{Count: n, Mean: float64(p.c.latenessSumNs.Load()) / float64(n) / 1e3,
				Max: float64(p.c.latenessMaxNs.Load()) / 1e3}
		}
		if p.q != nil {
			p.mu.Lock()
			st := p.q.Stats
			pr.QueueLen = p.q.Len()
			p.mu.Unlock()
			pr.DropLoss, pr.DropLimit = st.DroppedLoss, st.DroppedLimit
			pr.Duplicated, pr.Corrupted, pr.Reordered = st.Duplicated, st.Corrupted, st.Reordered
			pr.Delay = delayReport(&st.Delay)
		}
		r.Ports = append(r.Ports, pr)
	}
	return r
}

func delayReport(d *netem.DelayStats) Delay {
	out := Delay{Count: d.Count, Mean: d.MeanNs() / 1e3, Min: float64(d.MinNs) / 1e3,
		Max: float64(d.MaxNs) / 1e3, Histogram: []Bucket{}}
	for i, c := range d.Buckets {
		if c == 0 {
			continue
		}
		upper := float64((i+1)*netem.DelayBucketNs) / 1e3
		if i == netem.DelayBuckets-1 {
			upper = -1 // open-ended last bucket
		}
		out.Histogram = append(out.Histogram, Bucket{LessThanUs: upper, Count: c})
	}
	return out
}
