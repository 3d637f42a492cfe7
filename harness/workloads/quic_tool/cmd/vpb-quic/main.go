// Command vpb-quic is vpn-bench's QUIC workload tool (on quic-go).
//
//	vpb-quic server --port P [--lifetime S]
//	vpb-quic client --server ADDR --port P [--connections N] [--duration S] [--handshake-timeout S]
//
// The server serves until its lifetime is over (a bound, in case nobody stops it). The client
// prints one JSON document on stdout and exits 0 on success, 1 on a measured failure (the
// document then has "error"), 2 on bad usage.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net"
	"os"
	"os/signal"
	"runtime"
	"strconv"
	"syscall"
	"time"

	"github.com/quic-go/quic-go"

	"vpnbench/quictool/internal/bench"
)

func usage() {
	fmt.Fprintln(os.Stderr, "usage: vpb-quic server --port P [--lifetime S] | "+
		"vpb-quic client --server ADDR --port P [--connections N] [--duration S] "+
		"[--handshake-timeout S]")
	os.Exit(2)
}

// singleThreaded runs the Go scheduler on one OS thread unless GOMAXPROCS says otherwise.
// quic-go hands every packet between goroutines; on a 2-core machine with client and server
// side by side, spreading them over threads costs more in wake-ups than it gains (measured on
// loopback: about 1.0 Gbit/s with two threads against 1.3 to 2.0 with one).
func singleThreaded() {
	if os.Getenv("GOMAXPROCS") == "" {
		runtime.GOMAXPROCS(1)
	}
}

func main() {
	singleThreaded()
	if len(os.Args) < 2 {
		usage()
	}
	switch os.Args[1] {
	case "server":
		os.Exit(server(os.Args[2:]))
	case "client":
		os.Exit(client(os.Args[2:]))
	default:
		usage()
	}
}

func server(args []string) int {
	flags := flag.NewFlagSet("server", flag.ExitOnError)
	port := flags.Int("port", 4433, "UDP port to listen on (all addresses)")
	lifetime := flags.Float64("lifetime", 3600, "seconds after which the server exits")
	_ = flags.Parse(args)
	if *port < 1 || *port > 65535 || *lifetime <= 0 {
		fmt.Fprintln(os.Stderr, "vpb-quic server: --port must be 1-65535 and --lifetime > 0")
		return 2
	}
	tlsConf, err := bench.ServerTLS()
	if err != nil {
		fmt.Fprintln(os.Stderr, "vpb-quic server: certificate:", err)
		return 1
	}
	listener, err := quic.ListenAddr(net.JoinHostPort("", strconv.Itoa(*port)), tlsConf,
		bench.ServerConfig())
	if err != nil {
		fmt.Fprintln(os.Stderr, "vpb-quic server:", err)
		return 1
	}
	defer listener.Close()
	ctx, cancel := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer cancel()
	ctx, stop := context.WithTimeout(ctx, time.Duration(*lifetime*float64(time.Second)))
	defer stop()
	fmt.Fprintf(os.Stderr, "vpb-quic server listening on udp port %d\n", *port)
	if err := bench.Serve(ctx, listener); err != nil {
		fmt.Fprintln(os.Stderr, "vpb-quic server:", err)
		return 1
	}
	return 0
}

func client(args []string) int {
	flags := flag.NewFlagSet("client", flag.ExitOnError)
	address := flags.String("server", "", "server address (IPv4 or IPv6)")
	port := flags.Int("port", 4433, "server UDP port")
	connections := flags.Int("connections", 5, "short connections (handshake, first byte)")
	duration := flags.Float64("duration", 10, "seconds of bulk upload (0: none)")
	handshake := flags.Float64("handshake-timeout", 5, "seconds a handshake may stay idle")
	_ = flags.Parse(args)
	if *address == "" || *port < 1 || *port > 65535 || *connections < 0 ||
		*duration < 0 || *handshake <= 0 {
		fmt.Fprintln(os.Stderr, "vpb-quic client: needs --server, --port 1-65535, "+
			"--connections >= 0, --duration >= 0, --handshake-timeout > 0")
		return 2
	}
	seconds := func(value float64) time.Duration {
		return time.Duration(value * float64(time.Second))
	}
	options := bench.Options{Server: *address, Port: *port, Connections: *connections,
		Duration: seconds(*duration), HandshakeTimeout: seconds(*handshake)}
	// A bound on the whole run: every handshake may take its timeout, the bulk its duration.
	limit := seconds(*handshake*float64(*connections+1) + *duration*2 + 10)
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	report := bench.Run(ctx, options)
	encoder := json.NewEncoder(os.Stdout)
	encoder.SetIndent("", "  ")
	if err := encoder.Encode(report); err != nil {
		fmt.Fprintln(os.Stderr, "vpb-quic client:", err)
		return 1
	}
	if report.Error != "" {
		fmt.Fprintln(os.Stderr, "vpb-quic client:", report.Error)
		return 1
	}
	return 0
}
