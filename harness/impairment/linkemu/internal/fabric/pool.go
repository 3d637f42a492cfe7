package fabric

import (
	"sync"

	"vpnbench/linkemu/internal/afpacket"
)

// frame is one Ethernet frame owned by the switch while it is queued.
type frame struct {
	buf     []byte // vnet header, then the frame
	n       int    // frame length without the header
	dst     uint64 // bit i set: deliver to port i
	arrival int64  // ns on the switch clock
}

// bytes is the Ethernet frame itself.
func (f *frame) bytes() []byte { return f.buf[afpacket.VnetHdrLen : afpacket.VnetHdrLen+f.n] }

// wire is the frame with its zeroed vnet header, as sockets send it.
func (f *frame) wire() []byte { return f.buf[:afpacket.VnetHdrLen+f.n] }

// framePool recycles frame buffers so steady-state forwarding allocates
// nothing; queues of impaired ports hold buffers for up to the delay.
type framePool struct {
	mu   sync.Mutex
	free []*frame
	size int
}

func newFramePool(size int) *framePool { return &framePool{size: size} }

func (p *framePool) get() *frame {
	p.mu.Lock()
	if n := len(p.free); n > 0 {
		f := p.free[n-1]
		p.free = p.free[:n-1]
		p.mu.Unlock()
		return f
	}
	p.mu.Unlock()
	return &frame{buf: make([]byte, p.size)}
}

func (p *framePool) put(f *frame) {
	f.n, f.dst = 0, 0
	p.mu.Lock()
	p.free = append(p.free, f)
	p.mu.Unlock()
}
