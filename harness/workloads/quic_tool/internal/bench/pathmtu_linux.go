//go:build linux

package bench

import (
	"net"

	"golang.org/x/sys/unix"
)

// PathMTU is the kernel's MTU for the route to addr (the outgoing interface's, or a smaller
// one learnt from the path), read from a connected UDP socket; 0 when unknown.
func PathMTU(addr string) (mtu int, ipv6 bool) {
	remote, err := net.ResolveUDPAddr("udp", addr)
	if err != nil {
		return 0, false
	}
	ipv6 = remote.IP.To4() == nil
	conn, err := net.DialUDP("udp", nil, remote)
	if err != nil {
		return 0, ipv6
	}
	defer conn.Close()
	raw, err := conn.SyscallConn()
	if err != nil {
		return 0, ipv6
	}
	_ = raw.Control(func(fd uintptr) {
		if ipv6 {
			mtu, err = unix.GetsockoptInt(int(fd), unix.IPPROTO_IPV6, unix.IPV6_MTU)
		} else {
			mtu, err = unix.GetsockoptInt(int(fd), unix.IPPROTO_IP, unix.IP_MTU)
		}
	})
	if err != nil {
		return 0, ipv6
	}
	return mtu, ipv6
}
