//go:build !linux

package bench

// PathMTU is unknown off Linux; the handshake then shows whether the path carries QUIC.
func PathMTU(addr string) (int, bool) { return 0, false }
