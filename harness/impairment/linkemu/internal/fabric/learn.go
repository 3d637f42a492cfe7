package fabric

import (
	"sync"
	"sync/atomic"
)

type mac [6]byte

// macTable maps learned source addresses to ports. Readers load an
// immutable map; the rare update copies it, so lookups take no lock.
type macTable struct {
	mu  sync.Mutex
	cur atomic.Pointer[map[mac]int]
}

func newMacTable() *macTable {
	t := &macTable{}
	m := map[mac]int{}
	t.cur.Store(&m)
	return t
}

func (t *macTable) learn(addr mac, port int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	old := *t.cur.Load()
	if where, ok := old[addr]; ok && where == port {
		return
	}
	next := make(map[mac]int, len(old)+1)
	for k, v := range old {
		next[k] = v
	}
	next[addr] = port
	t.cur.Store(&next)
}

// destinations learns the frame's source on port in and returns the ports
// to deliver to: the learned port of a known unicast destination, every
// other port for broadcast, multicast and unknown unicast, and none when
// the destination sits behind the ingress port itself.
func (t *macTable) destinations(in int, allPorts uint64, frame []byte) uint64 {
	var src, dst mac
	copy(dst[:], frame[0:6])
	copy(src[:], frame[6:12])
	table := *t.cur.Load()
	if src[0]&1 == 0 {
		if where, ok := table[src]; !ok || where != in {
			t.learn(src, in)
		}
	}
	others := allPorts &^ (1 << uint(in))
	if dst[0]&1 != 0 {
		return others
	}
	if where, ok := table[dst]; ok {
		if where == in {
			return 0
		}
		return 1 << uint(where)
	}
	return others
}
