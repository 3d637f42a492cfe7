package bench

import (
	"context"
	"encoding/json"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/quic-go/quic-go"
)

// TestRunOverLoopback runs the real server and client over 127.0.0.1 with short settings.
func TestRunOverLoopback(t *testing.T) {
	tlsConf, err := ServerTLS()
	if err != nil {
		t.Fatal(err)
	}
	listener, err := quic.ListenAddr("127.0.0.1:0", tlsConf, ServerConfig())
	if err != nil {
		t.Fatal(err)
	}
	defer listener.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	go func() { _ = Serve(ctx, listener) }()
	portNumber := listener.Addr().(*net.UDPAddr).Port
	report := Run(ctx, Options{Server: "127.0.0.1", Port: portNumber, Connections: 3,
		Duration: 300 * time.Millisecond, HandshakeTimeout: 5 * time.Second})
	if report.Error != "" {
		t.Fatalf("run failed: %s", report.Error)
	}
	if len(report.Connections) != 3 {
		t.Fatalf("want 3 connections, got %d", len(report.Connections))
	}
	for _, sample := range report.Connections {
		if sample.HandshakeMs <= 0 || sample.TTFBMs < sample.HandshakeMs {
			t.Errorf("implausible sample %+v", sample)
		}
	}
	if report.Bulk == nil || report.Bulk.ReceivedBytes == 0 ||
		report.Bulk.ReceivedBytes != report.Bulk.SentBytes {
		t.Fatalf("bulk transfer incomplete: %+v", report.Bulk)
	}
	if report.PathMTU <= 0 || report.IPVersion != 4 {
		t.Errorf("path MTU %d over IPv%d", report.PathMTU, report.IPVersion)
	}
	encoded, err := json.Marshal(report)
	if err != nil || !strings.Contains(string(encoded), `"throughput_mbps"`) {
		t.Errorf("report does not encode: %v %s", err, encoded)
	}
}

func TestMTUProblem(t *testing.T) {
	cases := []struct {
		mtu  int
		ipv6 bool
		ok   bool
	}{{1280, true, true}, {1247, true, false}, {1228, false, true}, {1227, false, false},
		{0, false, true}}
	for _, c := range cases {
		problem := MTUProblem(c.mtu, c.ipv6)
		if (problem == "") != c.ok {
			t.Errorf("MTUProblem(%d, %v) = %q", c.mtu, c.ipv6, problem)
		}
	}
	want := "path MTU 1220 too small for QUIC's 1200-byte datagrams " +
		"(1192 bytes of UDP payload over IPv4)"
	if got := MTUProblem(1220, false); got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestInitialPacketSizeFitsThePath(t *testing.T) {
	cases := []struct {
		mtu  int
		ipv6 bool
		want uint16
	}{{1500, false, 1280}, {1300, false, 1272}, {1280, true, 1232}, {1228, false, 1200},
		{0, false, 1280}}
	for _, c := range cases {
		if got := InitialPacketSize(c.mtu, c.ipv6); got != c.want {
			t.Errorf("InitialPacketSize(%d, %v) = %d, want %d", c.mtu, c.ipv6, got, c.want)
		}
	}
}

func TestNoServerIsAHandshakeTimeout(t *testing.T) {
	// A UDP port with nobody behind it: the handshake must fail within its timeout.
	report := Run(context.Background(), Options{Server: "127.0.0.1", Port: 9, Connections: 1,
		Duration: time.Second, HandshakeTimeout: 500 * time.Millisecond})
	if report.Error == "" || len(report.Connections) != 0 || report.Bulk != nil {
		t.Fatalf("want a failed report, got %+v", report)
	}
}
