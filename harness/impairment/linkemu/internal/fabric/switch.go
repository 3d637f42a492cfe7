//go:build linux

// Package fabric is the packet-moving half of vpb-linkemu: one AF_PACKET
// socket per port, MAC learning, a netem queue per impaired ingress port
// and a scheduler thread per queue that sends frames at their due time.
package fabric

import (
	"errors"
	"fmt"
	"math"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"vpnbench/linkemu/internal/afpacket"
	"vpnbench/linkemu/internal/config"
	"vpnbench/linkemu/internal/netem"
)

const (
	batchSize   = 64
	rcvBufBytes = 32 << 20
	sndBufBytes = 8 << 20
	// pollPeriod bounds how long a blocked receive or an idle scheduler
	// takes to notice a stop request.
	pollPeriod = 100 * time.Millisecond
	minFrame   = 14
)

// counters are updated by the port's goroutines and read by reports.
type counters struct {
	received, bytesReceived         atomic.Uint64
	filtered, oversize, recvErrors  atomic.Uint64
	forwarded, bytesForwarded       atomic.Uint64
	txFrames, txErrors, socketDrops atomic.Uint64
	latenessCount, latenessSumNs    atomic.Uint64
	latenessMaxNs                   atomic.Int64
}

type port struct {
	idx      int
	cfg      config.Port
	sock     *afpacket.Socket
	impaired bool

	mu         sync.Mutex // guards q and sleepUntil
	q          *netem.Qdisc[*frame]
	sleepUntil int64
	wake       *afpacket.Eventfd

	c counters
}

// Switch forwards frames between its ports.
type Switch struct {
	ports    []*port
	allPorts uint64
	macs     *macTable
	pool     *framePool
	seed     uint64
	epoch    time.Time
	stop     atomic.Bool
	wg       sync.WaitGroup
	errMu    sync.Mutex
	lastErrs []string
}

// ErrInterface marks a port interface that does not exist.
var ErrInterface = errors.New("interface not found")

// New opens every port socket; on any failure it closes what it opened.
func New(cfg *config.Config) (*Switch, error) {
	s := &Switch{macs: newMacTable(), seed: cfg.Seed, epoch: time.Now()}
	maxMTU := 1500
	ok := false
	defer func() {
		if !ok {
			s.closeAll()
		}
	}()
	for i, pc := range cfg.Ports {
		sock, err := afpacket.Open(pc.Interface, rcvBufBytes, sndBufBytes, pollPeriod)
		if err != nil {
			if _, statErr := os.Stat("/sys/class/net/" + pc.Interface); os.IsNotExist(statErr) {
				return nil, fmt.Errorf("ports[%d].interface = %q: %w in this network namespace", i, pc.Interface, ErrInterface)
			}
			return nil, err
		}
		p := &port{idx: i, cfg: pc, sock: sock, impaired: pc.Params.Impairs(), sleepUntil: math.MinInt64}
		s.ports = append(s.ports, p)
		s.allPorts |= 1 << uint(i)
		if sock.MTU > maxMTU {
			maxMTU = sock.MTU
		}
		if p.impaired {
			if p.wake, err = afpacket.NewEventfd(); err != nil {
				return nil, err
			}
		}
	}
	// Room for the MTU plus Ethernet and VLAN headers; larger frames
	// (GSO/GRO super-packets) are counted as oversize and dropped.
	s.pool = newFramePool(max(2048, maxMTU+64+afpacket.VnetHdrLen))
	for _, p := range s.ports {
		if p.impaired {
			p.q = netem.NewQdisc(p.cfg.Params, p.cfg.Seed, s.qdiscOps())
		}
	}
	ok = true
	return s, nil
}

func (s *Switch) qdiscOps() netem.Ops[*frame] {
	return netem.Ops[*frame]{
		Clone: func(f *frame) (*frame, bool) {
			d := s.pool.get()
			d.n = copy(d.buf, f.wire()) - afpacket.VnetHdrLen
			d.dst, d.arrival = f.dst, f.arrival
			return d, true
		},
		FlipBit: func(f *frame, i int, bit uint) { f.bytes()[i] ^= 1 << bit },
		Drop:    s.pool.put,
	}
}

// now is the switch clock: monotonic nanoseconds since start.
func (s *Switch) now() int64 { return int64(time.Since(s.epoch)) }

// Start launches a receive loop per port and a scheduler per impaired port.
func (s *Switch) Start() {
	for _, p := range s.ports {
		s.wg.Add(1)
		go s.rxLoop(p)
		if p.impaired {
			s.wg.Add(1)
			go s.schedLoop(p)
		}
	}
}

// Stop ends all loops, drops what is still queued and closes the sockets.
func (s *Switch) Stop() {
	s.stop.Store(true)
	for _, p := range s.ports {
		if p.wake != nil {
			p.wake.Signal()
		}
	}
	s.wg.Wait()
	for _, p := range s.ports {
		if p.q != nil {
			p.mu.Lock()
			p.q.Drain()
			p.mu.Unlock()
		}
	}
	s.closeAll()
}

func (s *Switch) closeAll() {
	for _, p := range s.ports {
		if p.sock != nil {
			s.collectDrops(p)
			_ = p.sock.Close()
			p.sock = nil
		}
		if p.wake != nil {
			_ = p.wake.Close()
			p.wake = nil
		}
	}
}

func (s *Switch) collectDrops(p *port) {
	if p.sock == nil {
		return
	}
	if d, err := p.sock.Drops(); err == nil {
		p.c.socketDrops.Add(d)
	}
}

func (s *Switch) noteError(err error) {
	s.errMu.Lock()
	defer s.errMu.Unlock()
	if len(s.lastErrs) < 20 {
		s.lastErrs = append(s.lastErrs, err.Error())
	}
}

// rxLoop receives batches on one port. Frames of an unimpaired port are
// sent on at once from the receive buffers; frames of an impaired port are
// handed to its netem queue, and the slot gets a fresh buffer.
func (s *Switch) rxLoop(p *port) {
	defer s.wg.Done()
	slots := make([]*frame, batchSize)
	bufs := make([][]byte, batchSize)
	for i := range slots {
		slots[i] = s.pool.get()
		bufs[i] = slots[i].buf
	}
	defer func() {
		for _, f := range slots {
			s.pool.put(f)
		}
	}()
	rb := afpacket.NewRecvBatch(bufs)
	out := make([]*afpacket.SendBatch, len(s.ports))
	for i := range out {
		out[i] = afpacket.NewSendBatch(batchSize)
	}
	accepted := make([]int, 0, batchSize)
	for !s.stop.Load() {
		n, truncated, err := p.sock.Recv(rb)
		if errors.Is(err, afpacket.ErrTimeout) {
			continue
		}
		if err != nil {
			p.c.recvErrors.Add(1)
			s.noteError(fmt.Errorf("receive on %s: %w", p.cfg.Interface, err))
			time.Sleep(10 * time.Millisecond) // e.g. interface down; retry, bounded by stop
			continue
		}
		if truncated > 0 {
			p.c.oversize.Add(uint64(truncated))
		}
		now := s.now()
		accepted = accepted[:0]
		var frames, bytes, filtered uint64
		for i := 0; i < n; i++ {
			l := rb.Lens[i]
			if l < minFrame {
				continue
			}
			frames++
			bytes += uint64(l)
			f := slots[i]
			f.n = l
			f.dst = s.macs.destinations(p.idx, s.allPorts, f.bytes())
			if f.dst == 0 {
				filtered++
				continue
			}
			accepted = append(accepted, i)
		}
		p.c.received.Add(frames)
		p.c.bytesReceived.Add(bytes)
		p.c.filtered.Add(filtered)
		if p.impaired {
			s.enqueue(p, slots, accepted, now, rb)
		} else {
			s.forwardNow(p, slots, accepted, out)
		}
	}
}

// forwardNow is the fast path for a port without impairment.
func (s *Switch) forwardNow(p *port, slots []*frame, accepted []int, out []*afpacket.SendBatch) {
	var bytes uint64
	for _, i := range accepted {
		f := slots[i]
		bytes += uint64(f.n)
		for d := range s.ports {
			if f.dst&(1<<uint(d)) != 0 {
				out[d].Add(f.wire())
			}
		}
	}
	p.c.forwarded.Add(uint64(len(accepted)))
	p.c.bytesForwarded.Add(bytes)
	s.flushAll(p, out)
}

func (s *Switch) flushAll(p *port, out []*afpacket.SendBatch) {
	for d, b := range out {
		if b.Len() == 0 {
			continue
		}
		sock := s.ports[d].sock
		sent, failed := sock.Flush(b)
		p.c.txFrames.Add(uint64(sent))
		if failed > 0 {
			p.c.txErrors.Add(uint64(failed))
		}
	}
}

// enqueue hands accepted frames to the port's netem queue in arrival order
// and wakes the scheduler when the earliest due time moved forward.
func (s *Switch) enqueue(p *port, slots []*frame, accepted []int, now int64, rb *afpacket.RecvBatch) {
	if len(accepted) == 0 {
		return
	}
	wake := false
	p.mu.Lock()
	for _, i := range accepted {
		f := slots[i]
		f.arrival = now
		p.q.Enqueue(now, f, f.n)
	}
	if next, ok := p.q.NextDue(); ok && next < p.sleepUntil {
		p.sleepUntil = math.MinInt64
		wake = true
	}
	p.mu.Unlock()
	if wake {
		p.wake.Signal()
	}
	for _, i := range accepted {
		slots[i] = s.pool.get()
		rb.SetBuf(i, slots[i].buf)
	}
}

// schedLoop sends an impaired port's frames when they are due. It runs on
// its own OS thread with 1 ns timer slack and sleeps in ppoll, so it wakes
// within tens of microseconds of a due time without spinning.
func (s *Switch) schedLoop(p *port) {
	defer s.wg.Done()
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	_ = afpacket.SetThreadTimerSlack(1)
	out := make([]*afpacket.SendBatch, len(s.ports))
	for i := range out {
		out[i] = afpacket.NewSendBatch(batchSize)
	}
	due := make([]*frame, 0, batchSize)
	for !s.stop.Load() {
		now := s.now()
		p.mu.Lock()
		for len(due) < batchSize {
			f, _, tts, ok := p.q.Dequeue(now)
			if !ok {
				break
			}
			late := now - max(tts, f.arrival)
			p.c.latenessCount.Add(1)
			p.c.latenessSumNs.Add(uint64(max(late, 0)))
			if late > p.c.latenessMaxNs.Load() {
				p.c.latenessMaxNs.Store(late)
			}
			due = append(due, f)
		}
		next, pending := p.q.NextDue()
		if len(due) == 0 {
			p.sleepUntil = next
		} else {
			p.sleepUntil = math.MinInt64
		}
		p.mu.Unlock()

		if len(due) > 0 {
			s.transmit(p, due, out)
			for i, f := range due {
				s.pool.put(f)
				due[i] = nil
			}
			due = due[:0]
			continue
		}
		wait := pollPeriod
		if pending && time.Duration(next-now) < wait {
			wait = time.Duration(next - now)
		}
		p.wake.Wait(wait)
	}
}

func (s *Switch) transmit(p *port, due []*frame, out []*afpacket.SendBatch) {
	var bytes uint64
	for _, f := range due {
		bytes += uint64(f.n)
		for d := range s.ports {
			if f.dst&(1<<uint(d)) != 0 {
				out[d].Add(f.wire())
			}
		}
	}
	p.c.forwarded.Add(uint64(len(due)))
	p.c.bytesForwarded.Add(bytes)
	s.flushAll(p, out)
}
