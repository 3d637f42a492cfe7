package bench

import (
	"context"
	"errors"
	"net"
	"strconv"
	"time"
)

// Options of one client run.
type Options struct {
	Server           string
	Port             int
	Connections      int
	Duration         time.Duration
	HandshakeTimeout time.Duration
}

// Report is the client's one JSON document: every sample, the bulk transfer, and on failure
// the error (with Kind "mtu" when the path cannot carry QUIC's datagrams).
type Report struct {
	Tool        string   `json:"tool"`
	Server      string   `json:"server"`
	PathMTU     int      `json:"path_mtu"`
	IPVersion   int      `json:"ip_version"`
	GSO         bool     `json:"gso"`
	Connections []Sample `json:"connections"`
	Bulk        *Bulk    `json:"bulk"`
	Error       string   `json:"error,omitempty"`
	Kind        string   `json:"error_kind,omitempty"`
}

// Run measures Connections short connections, then one bulk upload of Duration; it stops at
// the first failure, keeping what was measured before it.
func Run(ctx context.Context, options Options) Report {
	addr := net.JoinHostPort(options.Server, strconv.Itoa(options.Port))
	report := Report{Tool: "vpb-quic", Server: addr, Connections: []Sample{}, IPVersion: 4}
	mtu, ipv6 := PathMTU(addr)
	report.PathMTU = mtu
	if ipv6 {
		report.IPVersion = 6
	}
	if problem := MTUProblem(mtu, ipv6); problem != "" {
		report.Error, report.Kind = problem, "mtu"
		return report
	}
	conf := Config(options.HandshakeTimeout)
	conf.InitialPacketSize = InitialPacketSize(mtu, ipv6)
	fail := func(err error) Report {
		report.Error, report.Kind = err.Error(), "transfer"
		var tooLong interface{ Timeout() bool }
		if errors.As(err, &tooLong) && tooLong.Timeout() && len(report.Connections) == 0 {
			report.Kind = "handshake_timeout"
		}
		return report
	}
	for range options.Connections {
		sample, gso, err := Short(ctx, addr, conf)
		if err != nil {
			return fail(err)
		}
		report.GSO = report.GSO || gso
		report.Connections = append(report.Connections, sample)
	}
	if options.Duration > 0 {
		bulk, err := Upload(ctx, addr, conf, options.Duration)
		if err != nil {
			return fail(err)
		}
		report.Bulk = &bulk
	}
	return report
}
