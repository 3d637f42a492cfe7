//go:build linux

// Package afpacket wraps the few Linux syscalls the switch needs: AF_PACKET
// sockets with batched receive and send, an eventfd and ppoll for precise
// timed waits. It uses only the standard library's syscall package.
package afpacket

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"syscall"
	"time"
	"unsafe"
)

const (
	ethPAll              = 0x0003
	solPacket            = 263
	packetStatistics     = 6
	packetIgnoreOutgoing = 23
	packetVnetHdr        = 15
	packetOutgoing       = 4 // sll_pkttype of frames this host sent
	prSetTimerslack      = 29
)

// htons converts to network byte order for the sockaddr protocol field.
func htons(v uint16) uint16 { return v<<8 | v>>8 }

// Socket is an AF_PACKET socket bound to one interface, seeing every frame
// the interface receives (ETH_P_ALL) but not the ones sent through it.
type Socket struct {
	fd      int
	Ifindex int
	MTU     int
	Name    string
}

// Open creates and binds the socket. Buffers are enlarged (root may exceed
// rmem_max) so bursts at line rate are not dropped by the socket itself.
func Open(name string, rcvbuf, sndbuf int, rcvTimeout time.Duration) (*Socket, error) {
	ifi, err := net.InterfaceByName(name)
	if err != nil {
		return nil, fmt.Errorf("interface %q: %w", name, err)
	}
	// Protocol 0 at creation: nothing is queued before bind selects the
	// interface.
	fd, err := syscall.Socket(syscall.AF_PACKET, syscall.SOCK_RAW|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("AF_PACKET socket for %q: %w", name, err)
	}
	s := &Socket{fd: fd, Ifindex: ifi.Index, MTU: ifi.MTU, Name: name}
	fail := func(what string, err error) (*Socket, error) {
		syscall.Close(fd)
		return nil, fmt.Errorf("%s on %q: %w", what, name, err)
	}
	// Older kernels lack PACKET_IGNORE_OUTGOING; Recv also filters by
	// sll_pkttype, so failure here is not fatal.
	_ = syscall.SetsockoptInt(fd, solPacket, packetIgnoreOutgoing, 1)
	// A virtio_net_hdr before each frame tells which frames still carry a
	// partial checksum (sender with tx checksum offload): Recv completes
	// them, so the relay works even if offloads were left on.
	if err := syscall.SetsockoptInt(fd, solPacket, packetVnetHdr, 1); err != nil {
		return fail("PACKET_VNET_HDR", err)
	}
	if err := syscall.SetsockoptInt(fd, syscall.SOL_SOCKET, syscall.SO_RCVBUFFORCE, rcvbuf); err != nil {
		if err := syscall.SetsockoptInt(fd, syscall.SOL_SOCKET, syscall.SO_RCVBUF, rcvbuf); err != nil {
			return fail("SO_RCVBUF", err)
		}
	}
	if err := syscall.SetsockoptInt(fd, syscall.SOL_SOCKET, syscall.SO_SNDBUFFORCE, sndbuf); err != nil {
		if err := syscall.SetsockoptInt(fd, syscall.SOL_SOCKET, syscall.SO_SNDBUF, sndbuf); err != nil {
			return fail("SO_SNDBUF", err)
		}
	}
	tv := syscall.NsecToTimeval(rcvTimeout.Nanoseconds())
	if err := syscall.SetsockoptTimeval(fd, syscall.SOL_SOCKET, syscall.SO_RCVTIMEO, &tv); err != nil {
		return fail("SO_RCVTIMEO", err)
	}
	sa := &syscall.SockaddrLinklayer{Protocol: htons(ethPAll), Ifindex: ifi.Index}
	if err := syscall.Bind(fd, sa); err != nil {
		return fail("bind", err)
	}
	return s, nil
}

// Close releases the socket.
func (s *Socket) Close() error { return syscall.Close(s.fd) }

// Drops reads and resets the kernel's count of frames the socket dropped
// because its receive buffer was full.
func (s *Socket) Drops() (uint64, error) {
	var st struct{ Packets, Drops uint32 }
	size := uint32(unsafe.Sizeof(st))
	_, _, errno := syscall.Syscall6(syscall.SYS_GETSOCKOPT, uintptr(s.fd), solPacket, packetStatistics,
		uintptr(unsafe.Pointer(&st)), uintptr(unsafe.Pointer(&size)), 0)
	if errno != 0 {
		return 0, errno
	}
	return uint64(st.Drops), nil
}

// mmsghdr is struct mmsghdr.
type mmsghdr struct {
	hdr syscall.Msghdr
	n   uint32
	_   [4]byte
}

// sockaddrLL is struct sockaddr_ll as the kernel fills it on receive.
type sockaddrLL struct {
	family   uint16
	protocol uint16
	ifindex  int32
	hatype   uint16
	pkttype  uint8
	halen    uint8
	addr     [8]byte
}

// VnetHdrLen is the size of the virtio_net_hdr that precedes every frame
// received from and sent to a Socket. Buffers include it.
const VnetHdrLen = 10

const (
	vnetNeedsCsum = 1
	vnetGsoNone   = 0
)

// RecvBatch receives up to len(bufs) frames with one recvmmsg call.
type RecvBatch struct {
	msgs  []mmsghdr
	iovs  []syscall.Iovec
	names []sockaddrLL
	Bufs  [][]byte
	Lens  []int // frame lengths (without the vnet header) after Recv; -1 to skip
}

// NewRecvBatch prepares a batch over the given buffers.
func NewRecvBatch(bufs [][]byte) *RecvBatch {
	n := len(bufs)
	b := &RecvBatch{msgs: make([]mmsghdr, n), iovs: make([]syscall.Iovec, n),
		names: make([]sockaddrLL, n), Bufs: bufs, Lens: make([]int, n)}
	for i := range bufs {
		b.SetBuf(i, bufs[i])
	}
	return b
}

// SetBuf replaces slot i's buffer (after its frame was handed off).
func (b *RecvBatch) SetBuf(i int, buf []byte) {
	b.Bufs[i] = buf
	b.iovs[i].Base = &buf[0]
	b.iovs[i].SetLen(len(buf))
}

// ErrTimeout means the receive timeout passed without a frame.
var ErrTimeout = errors.New("receive timeout")

// Recv blocks until at least one frame arrives (or the timeout), then
// takes what is queued, up to the batch size. It returns the number of
// slots filled; Lens[i] is -1 for a frame to skip (sent by this host,
// truncated, or a GSO super-packet), and oversize counts the latter two.
// Partial checksums are completed and every vnet header is zeroed, so a
// buffer can be sent on as it is.
func (s *Socket) Recv(b *RecvBatch) (n int, oversize int, err error) {
	for i := range b.msgs {
		m := &b.msgs[i]
		m.hdr.Name = (*byte)(unsafe.Pointer(&b.names[i]))
		m.hdr.Namelen = uint32(unsafe.Sizeof(b.names[i]))
		m.hdr.Iov = &b.iovs[i]
		m.hdr.Iovlen = 1
		m.hdr.Flags = 0
	}
	for {
		r, _, errno := syscall.Syscall6(sysRecvmmsg, uintptr(s.fd), uintptr(unsafe.Pointer(&b.msgs[0])),
			uintptr(len(b.msgs)), syscall.MSG_WAITFORONE|syscall.MSG_TRUNC, 0, 0)
		switch errno {
		case 0:
		case syscall.EINTR:
			continue
		case syscall.EAGAIN:
			return 0, 0, ErrTimeout
		default:
			return 0, 0, errno
		}
		n = int(r)
		break
	}
	for i := 0; i < n; i++ {
		m := &b.msgs[i]
		buf := b.Bufs[i]
		l := int(m.n) - VnetHdrLen
		switch {
		case b.names[i].pkttype == packetOutgoing || l < 0:
			l = -1
		case m.hdr.Flags&syscall.MSG_TRUNC != 0 || int(m.n) > len(buf) || buf[1] != vnetGsoNone:
			oversize++
			l = -1
		case buf[0]&vnetNeedsCsum != 0:
			start := int(binary.LittleEndian.Uint16(buf[6:8]))
			offset := int(binary.LittleEndian.Uint16(buf[8:10]))
			if !CompleteChecksum(buf[VnetHdrLen:VnetHdrLen+l], start, offset) {
				l = -1
			}
		}
		clear(buf[:VnetHdrLen])
		b.Lens[i] = l
	}
	return n, oversize, nil
}

// CompleteChecksum finishes a partial (offloaded) L4 checksum in place as
// the kernel's skb_checksum_help() would: the field at start+offset holds
// the pseudo-header sum; the ones' complement sum from start on replaces
// it. It reports false for offsets outside the frame.
func CompleteChecksum(frame []byte, start, offset int) bool {
	field := start + offset
	if start < 0 || field+2 > len(frame) {
		return false
	}
	var sum uint32
	data := frame[start:]
	for len(data) >= 2 {
		sum += uint32(data[0])<<8 | uint32(data[1])
		data = data[2:]
	}
	if len(data) == 1 {
		sum += uint32(data[0]) << 8
	}
	for sum>>16 != 0 {
		sum = sum&0xffff + sum>>16
	}
	binary.BigEndian.PutUint16(frame[field:], ^uint16(sum))
	return true
}

// SendBatch accumulates frames for one sendmmsg call.
type SendBatch struct {
	msgs []mmsghdr
	iovs []syscall.Iovec
	n    int
}

// NewSendBatch prepares room for up to size frames.
func NewSendBatch(size int) *SendBatch {
	b := &SendBatch{msgs: make([]mmsghdr, size), iovs: make([]syscall.Iovec, size)}
	for i := range b.msgs {
		b.msgs[i].hdr.Iov = &b.iovs[i]
		b.msgs[i].hdr.Iovlen = 1
	}
	return b
}

// Add queues a frame given with its (zeroed) vnet header in front; the
// caller keeps it alive until Flush returns. It reports false when full.
func (b *SendBatch) Add(frame []byte) bool {
	if b.n == len(b.msgs) {
		return false
	}
	b.iovs[b.n].Base = &frame[0]
	b.iovs[b.n].SetLen(len(frame))
	b.n++
	return true
}

// Len is the number of queued frames.
func (b *SendBatch) Len() int { return b.n }

// Flush sends every queued frame on s. A frame the kernel refuses is
// skipped and counted in failed; the batch is empty afterwards.
func (s *Socket) Flush(b *SendBatch) (sent, failed int) {
	off := 0
	for off < b.n {
		r, _, errno := syscall.Syscall6(sysSendmmsg, uintptr(s.fd), uintptr(unsafe.Pointer(&b.msgs[off])),
			uintptr(b.n-off), 0, 0, 0)
		switch {
		case errno == syscall.EINTR:
			continue
		case errno != 0:
			failed++
			off++ // the first remaining frame was refused; skip it
		default:
			sent += int(r)
			off += int(r)
		}
	}
	b.n = 0
	return sent, failed
}

// Eventfd is a counter file descriptor used to wake a sleeping scheduler.
type Eventfd struct{ fd int }

// NewEventfd creates a non-blocking eventfd.
func NewEventfd() (*Eventfd, error) {
	const efdCloexec, efdNonblock = 0x80000, 0x800
	r, _, errno := syscall.RawSyscall(sysEventfd2, 0, efdCloexec|efdNonblock, 0)
	if errno != 0 {
		return nil, fmt.Errorf("eventfd: %w", errno)
	}
	return &Eventfd{fd: int(r)}, nil
}

// Signal wakes a waiter (a full counter still wakes it, so errors are moot).
func (e *Eventfd) Signal() {
	one := [8]byte{1}
	_, _ = syscall.Write(e.fd, one[:])
}

// Close releases the eventfd.
func (e *Eventfd) Close() error { return syscall.Close(e.fd) }

// Wait sleeps until the eventfd is signalled or d has passed, with the
// kernel's high-resolution timer (ppoll takes nanoseconds, unlike the Go
// runtime's millisecond-granular timers). It clears the signal.
func (e *Eventfd) Wait(d time.Duration) {
	if d < 0 {
		d = 0
	}
	fds := [1]struct {
		fd      int32
		events  int16
		revents int16
	}{{fd: int32(e.fd), events: 0x1}}
	ts := syscall.NsecToTimespec(d.Nanoseconds())
	_, _, errno := syscall.Syscall6(sysPpoll, uintptr(unsafe.Pointer(&fds[0])), 1,
		uintptr(unsafe.Pointer(&ts)), 0, 0, 0)
	if errno == 0 && fds[0].revents != 0 {
		var buf [8]byte
		_, _ = syscall.Read(e.fd, buf[:])
	}
}

// SetThreadTimerSlack sets the calling OS thread's timer slack (default
// 50 us) so timed waits wake close to their deadline. The caller must
// have locked its goroutine to the thread.
func SetThreadTimerSlack(ns int) error {
	_, _, errno := syscall.RawSyscall(syscall.SYS_PRCTL, prSetTimerslack, uintptr(ns), 0)
	if errno != 0 {
		return errno
	}
	return nil
}
