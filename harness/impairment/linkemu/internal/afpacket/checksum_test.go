package afpacket

import "testing"

func TestCompleteChecksumByHand(t *testing.T) {
	cases := []struct {
		name          string
		frame         []byte
		start, offset int
		want          uint16
	}{
		// 0x4500 + 0x0001 (pseudo-header sum in the field) + 0x1234 = 0x5735
		{"even", []byte{0x45, 0x00, 0x00, 0x01, 0x12, 0x34}, 0, 2, ^uint16(0x5735)},
		// a trailing odd byte counts as its high half: 0x0000 + 0xab00
		{"odd", []byte{0xee, 0x00, 0x00, 0xab}, 1, 1, ^uint16(0xab00)},
		// 0xffff + 0x0002 = 0x10001, folded to 0x0002
		{"carry", []byte{0xff, 0xff, 0x00, 0x00, 0x00, 0x02}, 0, 2, ^uint16(0x0002)},
	}
	for _, c := range cases {
		if !CompleteChecksum(c.frame, c.start, c.offset) {
			t.Fatalf("%s: rejected", c.name)
		}
		field := c.start + c.offset
		got := uint16(c.frame[field])<<8 | uint16(c.frame[field+1])
		if got != c.want {
			t.Errorf("%s: checksum %#04x, want %#04x", c.name, got, c.want)
		}
	}
	if CompleteChecksum(make([]byte, 10), 8, 2) {
		t.Error("field beyond the frame accepted")
	}
}
