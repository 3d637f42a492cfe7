//go:build linux

// Command vpb-linkemu is a user-space Ethernet switch whose ports apply tc
// netem's semantics on the way through, for kernels without sch_netem.
//
//	vpb-linkemu --config FILE   run until SIGTERM/SIGINT; SIGUSR1 writes stats
//	vpb-linkemu --check FILE    validate a configuration and print it
//
// Exit codes: 0 after a clean stop, 2 for a bad configuration, 1 otherwise.
package main

import (
	"crypto/rand"
	"encoding/binary"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"syscall"

	"vpnbench/linkemu/internal/config"
	"vpnbench/linkemu/internal/fabric"
	"vpnbench/linkemu/internal/netem"
)

const (
	exitFailure   = 1
	exitBadConfig = 2
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("vpb-linkemu", flag.ContinueOnError)
	fs.SetOutput(stderr)
	configPath := fs.String("config", "", "JSON configuration file (required)")
	checkPath := fs.String("check", "", "validate this configuration, print the model parameters and exit")
	if err := fs.Parse(args); err != nil {
		return exitBadConfig
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "vpb-linkemu: unexpected argument %q (use --config FILE or --check FILE)\n", fs.Arg(0))
		return exitBadConfig
	}
	path := *configPath
	if *checkPath != "" {
		path = *checkPath
	}
	if path == "" {
		fmt.Fprintln(stderr, "vpb-linkemu: --config FILE is required (or --check FILE)")
		return exitBadConfig
	}
	cfg, err := load(path)
	if err != nil {
		fmt.Fprintf(stderr, "vpb-linkemu: %s: %v\n", path, err)
		return exitBadConfig
	}
	if *checkPath != "" {
		return printCheck(cfg, stdout)
	}
	return serve(cfg, stdout, stderr)
}

func load(path string) (*config.Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var seed [8]byte
	if _, err := rand.Read(seed[:]); err != nil {
		return nil, err
	}
	return config.Parse(data, binary.LittleEndian.Uint64(seed[:]))
}

// printCheck shows the parameters in the kernel's units, as a reviewer
// would compare them with `tc -s qdisc` output.
func printCheck(cfg *config.Config, stdout io.Writer) int {
	type portView struct {
		Interface string  `json:"interface"`
		Seed      uint64  `json:"seed"`
		Impaired  bool    `json:"impaired"`
		LatencyNs int64   `json:"latency_ns"`
		JitterNs  int32   `json:"jitter_ns"`
		Table     bool    `json:"distribution_table"`
		Limit     uint32  `json:"limit"`
		Gap       uint32  `json:"gap"`
		Reorder   float64 `json:"reorder"`
		Loss      any     `json:"loss"`
		RateBPS   uint64  `json:"rate_bytes_per_s"`
	}
	out := struct {
		Seed  uint64     `json:"seed"`
		Ports []portView `json:"ports"`
	}{Seed: cfg.Seed}
	for _, p := range cfg.Ports {
		pp := p.Params
		out.Ports = append(out.Ports, portView{Interface: p.Interface, Seed: p.Seed, Impaired: pp.Impairs(),
			LatencyNs: pp.LatencyNs, JitterNs: pp.JitterNs, Table: pp.Table != nil, Limit: pp.Limit,
			Gap: pp.Gap, Reorder: netem.Unscale(pp.Reorder), Loss: pp.Loss, RateBPS: pp.RateBytesPS})
	}
	enc := json.NewEncoder(stdout)
	enc.SetIndent("", "  ")
	if err := enc.Encode(out); err != nil {
		return exitFailure
	}
	return 0
}

func serve(cfg *config.Config, stdout, stderr io.Writer) int {
	// A ready file left by an earlier run must not signal readiness now.
	if cfg.ReadyFile != "" {
		if err := os.Remove(cfg.ReadyFile); err != nil && !errors.Is(err, os.ErrNotExist) {
			fmt.Fprintf(stderr, "vpb-linkemu: ready_file %s: %v\n", cfg.ReadyFile, err)
			return exitBadConfig
		}
	}
	// Signals are caught before the sockets open so none is lost.
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT, syscall.SIGUSR1)
	defer signal.Stop(sigs)

	// Every receive loop and scheduler spends most of its time blocked in a
	// syscall. With fewer Ps than such goroutines, one returning from its
	// syscall can find no free P and wait for the runtime's monitor to
	// retake one (milliseconds, up to the receive timeout); one P per loop
	// keeps wake-ups at kernel latency. Idle Ps cost nothing.
	runtime.GOMAXPROCS(max(runtime.GOMAXPROCS(0), 2*len(cfg.Ports)+2))

	sw, err := fabric.New(cfg)
	if err != nil {
		fmt.Fprintf(stderr, "vpb-linkemu: %v\n", err)
		if errors.Is(err, fabric.ErrInterface) {
			return exitBadConfig
		}
		return exitFailure
	}
	sw.Start()
	if cfg.ReadyFile != "" {
		if err := writeAtomically(cfg.ReadyFile, []byte(fmt.Sprintf("%d\n", os.Getpid()))); err != nil {
			fmt.Fprintf(stderr, "vpb-linkemu: ready_file: %v\n", err)
			sw.Stop()
			return exitFailure
		}
	}
	for sig := range sigs {
		if sig == syscall.SIGUSR1 {
			if err := writeStats(cfg.StatsFile, sw.Snapshot(false), stdout); err != nil {
				fmt.Fprintf(stderr, "vpb-linkemu: stats: %v\n", err)
			}
			continue
		}
		break
	}
	sw.Stop()
	if err := writeStats(cfg.StatsFile, sw.Snapshot(true), stdout); err != nil {
		fmt.Fprintf(stderr, "vpb-linkemu: stats: %v\n", err)
		return exitFailure
	}
	return 0
}

// writeStats writes the report to path, or to stdout when no path is set.
func writeStats(path string, r fabric.Report, stdout io.Writer) error {
	data, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	data = append(data, '\n')
	if path == "" {
		_, err := stdout.Write(data)
		return err
	}
	return writeAtomically(path, data)
}

// writeAtomically replaces path in one step so readers never see half a file.
func writeAtomically(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".vpb-linkemu-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
