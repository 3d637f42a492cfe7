// Package bench is the QUIC benchmark of vpn-bench: a server answering two requests and a
// client measuring handshakes, time to first byte and one bulk upload.
//
// Protocol, one request per stream: the client writes one byte naming the request.
//   - 'T' (first byte): the server answers with ReplySize bytes and closes the stream.
//   - 'B' (bulk): the client writes until its duration is over and closes its side; the server
//     counts every byte up to the end of the stream and answers with 16 bytes: the count and
//     the nanoseconds from the first to the last byte (both big-endian uint64), so the
//     throughput is the receiver's view, as with iperf3.
package bench

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/big"
	"time"

	"github.com/quic-go/quic-go"
)

// ALPN is the application protocol both ends agree on.
const ALPN = "vpb-quic"

// ReplySize is the size of the answer to a first-byte request.
const ReplySize = 1024

// MinDatagram is the UDP payload every QUIC path must carry (RFC 9000, section 14).
const MinDatagram = 1200

const (
	requestFirstByte byte = 'T'
	requestBulk      byte = 'B'
	// writeSize is the size of one bulk write: big writes keep the syscall count low.
	writeSize = 1 << 20
)

// Config is the QUIC configuration of both ends. The receive windows are large so that flow
// control never limits a fast path (the defaults stop at 6 MiB per stream and 15 MiB per
// connection, too little for several Gbit/s with a few ms of queueing).
func Config(handshakeTimeout time.Duration) *quic.Config {
	return &quic.Config{
		HandshakeIdleTimeout:           handshakeTimeout,
		MaxIdleTimeout:                 30 * time.Second,
		InitialStreamReceiveWindow:     8 << 20,
		MaxStreamReceiveWindow:         64 << 20,
		InitialConnectionReceiveWindow: 12 << 20,
		MaxConnectionReceiveWindow:     96 << 20,
	}
}

// ServerConfig is Config for the server, whose first packets are the smallest QUIC allows:
// it cannot know the client's path, and quic-go's default first size (1280 bytes) fails on
// paths of MTU below 1308 (IPv4) with a lost packet and a retransmission timeout in every
// handshake (measured: about 200 ms on an overlay of MTU 1300). Path MTU discovery raises
// the size for the rest of the connection.
func ServerConfig() *quic.Config {
	conf := Config(10 * time.Second)
	conf.InitialPacketSize = MinDatagram
	return conf
}

// ServerTLS is a TLS configuration with a self-signed certificate made in memory now: the
// benchmark measures the transport, not a PKI, so nothing is written to disk.
func ServerTLS() (*tls.Config, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	template := x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		Subject:      pkix.Name{CommonName: "vpb-quic"},
		DNSNames:     []string{"vpb-quic"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, &template, &template, &key.PublicKey, key)
	if err != nil {
		return nil, err
	}
	certificate := tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
	return &tls.Config{Certificates: []tls.Certificate{certificate}, NextProtos: []string{ALPN},
		MinVersion: tls.VersionTLS13}, nil
}

// ClientTLS skips certificate verification: the server's certificate is self-signed and made
// at its start, and this benchmark only measures the transport between its own namespaces.
// Never reuse this for anything that needs authentication.
func ClientTLS() *tls.Config {
	return &tls.Config{InsecureSkipVerify: true, NextProtos: []string{ALPN}, //nolint:gosec
		MinVersion: tls.VersionTLS13}
}

// Serve answers requests on every connection of listener until ctx ends.
func Serve(ctx context.Context, listener *quic.Listener) error {
	for {
		conn, err := listener.Accept(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		go serveConn(ctx, conn)
	}
}

func serveConn(ctx context.Context, conn *quic.Conn) {
	for {
		stream, err := conn.AcceptStream(ctx)
		if err != nil {
			return
		}
		go serveStream(stream)
	}
}

func serveStream(stream *quic.Stream) {
	defer stream.Close()
	request := make([]byte, 1)
	if _, err := io.ReadFull(stream, request); err != nil {
		return
	}
	switch request[0] {
	case requestFirstByte:
		_, _ = stream.Write(make([]byte, ReplySize))
	case requestBulk:
		count, elapsed := drain(stream)
		answer := make([]byte, 16)
		binary.BigEndian.PutUint64(answer[:8], count)
		binary.BigEndian.PutUint64(answer[8:], uint64(elapsed.Nanoseconds()))
		_, _ = stream.Write(answer)
	default:
		stream.CancelRead(1)
	}
}

// drain reads a stream to its end: bytes read and the time from the first to the last byte.
func drain(reader io.Reader) (uint64, time.Duration) {
	buffer := make([]byte, writeSize)
	var count uint64
	var first time.Time
	var last time.Time
	for {
		n, err := reader.Read(buffer)
		if n > 0 {
			last = time.Now()
			if count == 0 {
				first = last
			}
			count += uint64(n)
		}
		if err != nil {
			break
		}
	}
	if count == 0 {
		return 0, 0
	}
	return count, last.Sub(first)
}

// Sample is one short connection.
type Sample struct {
	HandshakeMs float64 `json:"handshake_ms"`
	TTFBMs      float64 `json:"ttfb_ms"`
}

// Bulk is the one bulk transfer, client to server.
type Bulk struct {
	SentBytes       uint64  `json:"sent_bytes"`
	SenderSeconds   float64 `json:"sender_seconds"`
	ReceivedBytes   uint64  `json:"received_bytes"`
	ReceiverSeconds float64 `json:"receiver_seconds"`
	HandshakeMs     float64 `json:"handshake_ms"`
	ThroughputMbps  float64 `json:"throughput_mbps"`
}

func milliseconds(d time.Duration) float64 { return float64(d.Nanoseconds()) / 1e6 }

// Short makes one connection, one first-byte request, and closes it. The handshake time runs
// from the dial to the completed handshake, the time to first byte from the dial to the
// first byte of the answer (so it includes the handshake, as a user sees it).
func Short(ctx context.Context, addr string, conf *quic.Config) (Sample, bool, error) {
	start := time.Now()
	conn, err := quic.DialAddr(ctx, addr, ClientTLS(), conf)
	if err != nil {
		return Sample{}, false, fmt.Errorf("handshake with %s: %w", addr, err)
	}
	handshake := time.Since(start)
	defer conn.CloseWithError(0, "done")
	gso := conn.ConnectionState().GSO
	stream, err := conn.OpenStreamSync(ctx)
	if err != nil {
		return Sample{}, gso, fmt.Errorf("open stream: %w", err)
	}
	if _, err := stream.Write([]byte{requestFirstByte}); err != nil {
		return Sample{}, gso, fmt.Errorf("send request: %w", err)
	}
	_ = stream.Close()
	first := make([]byte, 1)
	if _, err := io.ReadFull(stream, first); err != nil {
		return Sample{}, gso, fmt.Errorf("read answer: %w", err)
	}
	ttfb := time.Since(start)
	if _, err := io.Copy(io.Discard, stream); err != nil {
		return Sample{}, gso, fmt.Errorf("read answer: %w", err)
	}
	return Sample{HandshakeMs: milliseconds(handshake), TTFBMs: milliseconds(ttfb)}, gso, nil
}

// Upload sends as fast as it can for duration on one stream, then reads the receiver's
// count; the throughput is the receiver's bytes over the receiver's time.
func Upload(ctx context.Context, addr string, conf *quic.Config,
	duration time.Duration) (Bulk, error) {
	start := time.Now()
	conn, err := quic.DialAddr(ctx, addr, ClientTLS(), conf)
	if err != nil {
		return Bulk{}, fmt.Errorf("handshake with %s: %w", addr, err)
	}
	defer conn.CloseWithError(0, "done")
	result := Bulk{HandshakeMs: milliseconds(time.Since(start))}
	stream, err := conn.OpenStreamSync(ctx)
	if err != nil {
		return result, fmt.Errorf("open stream: %w", err)
	}
	if _, err := stream.Write([]byte{requestBulk}); err != nil {
		return result, fmt.Errorf("send request: %w", err)
	}
	buffer := make([]byte, writeSize)
	began := time.Now()
	deadline := began.Add(duration)
	for time.Now().Before(deadline) {
		_ = stream.SetWriteDeadline(deadline)
		n, err := stream.Write(buffer)
		result.SentBytes += uint64(n)
		if err != nil {
			var netErr interface{ Timeout() bool }
			if errors.As(err, &netErr) && netErr.Timeout() {
				break
			}
			return result, fmt.Errorf("bulk write: %w", err)
		}
	}
	result.SenderSeconds = time.Since(began).Seconds()
	_ = stream.SetWriteDeadline(time.Time{})
	if err := stream.Close(); err != nil {
		return result, fmt.Errorf("close bulk stream: %w", err)
	}
	answer := make([]byte, 16)
	if _, err := io.ReadFull(stream, answer); err != nil {
		return result, fmt.Errorf("read receiver count: %w", err)
	}
	result.ReceivedBytes = binary.BigEndian.Uint64(answer[:8])
	result.ReceiverSeconds = time.Duration(binary.BigEndian.Uint64(answer[8:])).Seconds()
	if result.ReceiverSeconds > 0 {
		result.ThroughputMbps = float64(result.ReceivedBytes) * 8 / result.ReceiverSeconds / 1e6
	}
	return result, nil
}

// InitialPacketSize is the first packet size for a path: quic-go's default of 1280 bytes
// where the path carries it, else what it carries (at least 1200, see MTUProblem). Without
// it, quic-go would send 1280 bytes first and fall back only after the kernel refuses them,
// which costs a lost Initial packet and a retransmission timeout (about 200 ms measured on an
// overlay of MTU 1300) in every handshake.
func InitialPacketSize(pathMTU int, ipv6 bool) uint16 {
	header := 20
	if ipv6 {
		header = 40
	}
	payload := pathMTU - header - 8
	if pathMTU <= 0 || payload >= 1280 {
		return 1280
	}
	return uint16(max(payload, MinDatagram))
}

// MTUProblem says why a path cannot carry QUIC, or "" when it can: the UDP payload left by
// the path MTU after the IP and UDP headers must hold a 1200-byte datagram.
func MTUProblem(pathMTU int, ipv6 bool) string {
	if pathMTU <= 0 {
		return ""
	}
	header, family := 20, "IPv4"
	if ipv6 {
		header, family = 40, "IPv6"
	}
	payload := pathMTU - header - 8
	if payload >= MinDatagram {
		return ""
	}
	return fmt.Sprintf("path MTU %d too small for QUIC's %d-byte datagrams "+
		"(%d bytes of UDP payload over %s)", pathMTU, MinDatagram, payload, family)
}
