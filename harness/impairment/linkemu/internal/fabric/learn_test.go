package fabric

import "testing"

func ethFrame(dst, src mac) []byte {
	f := make([]byte, 60)
	copy(f[0:6], dst[:])
	copy(f[6:12], src[:])
	return f
}

func TestLearningFloodingAndFiltering(t *testing.T) {
	const all = 0b111
	a, b := mac{2, 0, 0, 0, 0, 0xa}, mac{2, 0, 0, 0, 0, 0xb}
	bcast := mac{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}
	tab := newMacTable()
	if got := tab.destinations(0, all, ethFrame(bcast, a)); got != 0b110 {
		t.Fatalf("broadcast from port 0 goes to %b, want 110", got)
	}
	if got := tab.destinations(1, all, ethFrame(a, b)); got != 0b001 {
		t.Fatalf("unicast to learned a goes to %b, want 001", got)
	}
	if got := tab.destinations(0, all, ethFrame(b, a)); got != 0b010 {
		t.Fatalf("unicast to learned b goes to %b, want 010", got)
	}
	unknown := mac{2, 0, 0, 0, 0, 0xc}
	if got := tab.destinations(0, all, ethFrame(unknown, a)); got != 0b110 {
		t.Fatalf("unknown unicast goes to %b, want flooding 110", got)
	}
	// a moves to port 2; a frame for a arriving on port 2 is filtered.
	tab.destinations(2, all, ethFrame(bcast, a))
	if got := tab.destinations(2, all, ethFrame(a, unknown)); got != 0 {
		t.Fatalf("frame for a host behind the ingress port goes to %b, want none", got)
	}
	multicast := mac{0x01, 0, 0x5e, 0, 0, 1}
	if got := tab.destinations(1, all, ethFrame(multicast, b)); got != 0b101 {
		t.Fatalf("multicast goes to %b, want 101", got)
	}
}
