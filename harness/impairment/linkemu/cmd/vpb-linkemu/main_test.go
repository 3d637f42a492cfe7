//go:build linux

package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

func writeConfig(t *testing.T, doc string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "config.json")
	if err := os.WriteFile(path, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestBadConfigExitsTwoNamingTheField(t *testing.T) {
	cases := map[string]string{
		`{"ports":[{"interface":"a","egress":{"delay_us":1000,"jitter_us":10,"distribution":"gauss"}},{"interface":"b"}]}`: "uniform, normal, pareto, paretonormal",
		`{"ports":[{"interface":"a","egress":{"loss":{"model":"random","probability":1.2}}},{"interface":"b"}]}`:           "ports[0].egress.loss.probability = 1.2",
		`not json`: "not a valid configuration document",
	}
	for doc, want := range cases {
		var stdout, stderr bytes.Buffer
		code := run([]string{"--config", writeConfig(t, doc)}, &stdout, &stderr)
		if code != 2 || !strings.Contains(stderr.String(), want) {
			t.Errorf("exit %d, stderr %q; want exit 2 mentioning %q", code, stderr.String(), want)
		}
	}
	var stdout, stderr bytes.Buffer
	if code := run([]string{}, &stdout, &stderr); code != 2 || !strings.Contains(stderr.String(), "--config FILE is required") {
		t.Errorf("no arguments: exit %d, stderr %q", code, stderr.String())
	}
}

func TestMissingInterfaceExitsTwo(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root for AF_PACKET sockets")
	}
	var stdout, stderr bytes.Buffer
	doc := `{"ports":[{"interface":"hB-nosuch0"},{"interface":"hB-nosuch1"}]}`
	code := run([]string{"--config", writeConfig(t, doc)}, &stdout, &stderr)
	if code != 2 || !strings.Contains(stderr.String(), `ports[0].interface = "hB-nosuch0"`) {
		t.Fatalf("exit %d, stderr %q; want exit 2 naming the interface", code, stderr.String())
	}
}

func TestCheckPrintsKernelUnits(t *testing.T) {
	doc := `{"ports":[{"interface":"a","egress":{"delay_us":6000,"jitter_us":15000,"reorder":{"probability":0.05}}},{"interface":"b"}],"seed":42}`
	var stdout, stderr bytes.Buffer
	if code := run([]string{"--check", writeConfig(t, doc)}, &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	var out struct {
		Seed  uint64 `json:"seed"`
		Ports []struct {
			LatencyNs int64 `json:"latency_ns"`
			JitterNs  int64 `json:"jitter_ns"`
			Gap       int   `json:"gap"`
			Limit     int   `json:"limit"`
			Impaired  bool  `json:"impaired"`
		} `json:"ports"`
	}
	if err := json.Unmarshal(stdout.Bytes(), &out); err != nil {
		t.Fatal(err)
	}
	p := out.Ports[0]
	if out.Seed != 42 || p.LatencyNs != 6e6 || p.JitterNs != 15e6 || p.Gap != 1 || p.Limit != 1000 || !p.Impaired || out.Ports[1].Impaired {
		t.Fatalf("check output %+v", out)
	}
}

// testbed is two host namespaces whose veths meet in a LAN namespace.
type testbed struct {
	t      *testing.T
	prefix string
}

func (tb *testbed) ns(name string) string { return tb.prefix + "-" + name }

func (tb *testbed) sh(args ...string) string {
	tb.t.Helper()
	out, err := exec.Command(args[0], args[1:]...).CombinedOutput()
	if err != nil {
		tb.t.Fatalf("%s: %v: %s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

func newTestbed(t *testing.T) *testbed {
	if os.Geteuid() != 0 {
		t.Skip("needs root for network namespaces")
	}
	for _, tool := range []string{"ip", "ping", "ethtool"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s not installed", tool)
		}
	}
	tb := &testbed{t: t, prefix: fmt.Sprintf("hB-gt%d", os.Getpid()%100000)}
	lan := tb.ns("lan")
	t.Cleanup(func() {
		for _, n := range []string{"h1", "h2", "lan"} {
			_ = exec.Command("ip", "netns", "del", tb.ns(n)).Run()
		}
	})
	tb.sh("ip", "netns", "add", lan)
	for i, h := range []string{"h1", "h2"} {
		host := tb.ns(h)
		port := "p-" + h
		tb.sh("ip", "netns", "add", host)
		tb.sh("ip", "link", "add", "eth0", "netns", host, "type", "veth", "peer", "name", port, "netns", lan)
		tb.sh("ip", "-n", host, "addr", "add", fmt.Sprintf("10.201.78.%d/24", i+1), "dev", "eth0")
		tb.sh("ip", "-n", host, "link", "set", "eth0", "up")
		tb.sh("ip", "-n", lan, "link", "set", port, "up")
		tb.sh("ip", "netns", "exec", host, "ethtool", "-K", "eth0", "gro", "off", "gso", "off", "tso", "off", "tx", "off")
		tb.sh("ip", "netns", "exec", lan, "ethtool", "-K", port, "gro", "off", "gso", "off", "tso", "off", "tx", "off")
	}
	return tb
}

type portStats struct {
	Interface   string `json:"interface"`
	Received    uint64 `json:"frames_received"`
	Forwarded   uint64 `json:"forwarded"`
	DroppedLoss uint64 `json:"dropped_loss"`
	Delay       struct {
		Count uint64  `json:"count"`
		Mean  float64 `json:"mean"`
		Min   float64 `json:"min"`
	} `json:"delay_us"`
}

type report struct {
	Final bool        `json:"final"`
	Ports []portStats `json:"ports"`
}

func readReport(t *testing.T, path string) report {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var r report
	if err := json.Unmarshal(data, &r); err != nil {
		t.Fatal(err)
	}
	return r
}

func waitFor(t *testing.T, path string, proc *exec.Cmd) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, err := os.Stat(path); err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s did not appear within 10 s", path)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestImpairedLinkBetweenNamespaces runs the real binary between two
// namespaces: h1's egress delays 5 ms and loses 10 %, h2's delays 5 ms.
func TestImpairedLinkBetweenNamespaces(t *testing.T) {
	tb := newTestbed(t)
	dir := t.TempDir()
	bin := filepath.Join(dir, "vpb-linkemu")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v: %s", err, out)
	}
	ready, stats := filepath.Join(dir, "ready"), filepath.Join(dir, "stats.json")
	cfg := fmt.Sprintf(`{"ports":[
	  {"interface":"p-h1","egress":{"delay_us":5000,"loss":{"model":"random","probability":0.1}}},
	  {"interface":"p-h2","egress":{"delay_us":5000}}],
	  "seed":7,"ready_file":%q,"stats_file":%q}`, ready, stats)
	cfgPath := filepath.Join(dir, "config.json")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	proc := exec.Command("ip", "netns", "exec", tb.ns("lan"), bin, "--config", cfgPath)
	proc.Stderr = &stderr
	if err := proc.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if proc.ProcessState == nil {
			_ = proc.Process.Kill()
			_ = proc.Wait()
		}
	})
	waitFor(t, ready, proc)

	// 400 pings, 5 ms apart: bounded at about 2 s plus the last timeout.
	out, _ := exec.Command("ip", "netns", "exec", tb.ns("h1"), "ping", "-c", "400", "-i", "0.005",
		"-W", "1", "-q", "10.201.78.2").CombinedOutput()
	m := regexp.MustCompile(`(\d+) packets transmitted, (\d+) received`).FindStringSubmatch(string(out))
	r := regexp.MustCompile(`= ([\d.]+)/([\d.]+)/([\d.]+)/`).FindStringSubmatch(string(out))
	if m == nil || r == nil {
		t.Fatalf("unexpected ping output: %s", out)
	}
	sent, _ := strconv.Atoi(m[1])
	got, _ := strconv.Atoi(m[2])
	lossRate := 1 - float64(got)/float64(sent)
	// Only the request crosses the lossy egress: round-trip loss is 10 %.
	if lossRate < 0.04 || lossRate > 0.16 {
		t.Errorf("ping loss %.3f, want about 0.10", lossRate)
	}
	minRTT, _ := strconv.ParseFloat(r[1], 64)
	avgRTT, _ := strconv.ParseFloat(r[2], 64)
	// The two 5 ms egresses are a floor no scheduling can undercut. How far above it the
	// RTT lands depends on how busy the machine is (a timing, never an assertion); the
	// switch's own report below shows the delay it scheduled.
	if minRTT < 10 {
		t.Errorf("rtt min %.2f avg %.2f ms, want >= 10 ms (two 5 ms egresses)", minRTT, avgRTT)
	}

	// SIGUSR1 writes a mid-run report.
	if err := proc.Process.Signal(syscall.SIGUSR1); err != nil {
		t.Fatal(err)
	}
	waitFor(t, stats, proc)
	mid := readReport(t, stats)
	if mid.Final || len(mid.Ports) != 2 || mid.Ports[0].Received < 400 {
		t.Errorf("mid-run report %+v", mid)
	}

	if err := proc.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := proc.Wait(); err != nil {
		t.Fatalf("exit after SIGTERM: %v; stderr %s", err, stderr.String())
	}
	final := readReport(t, stats)
	h1 := final.Ports[0]
	if !final.Final || h1.DroppedLoss == 0 || h1.Delay.Min != 5000 || h1.Delay.Mean != 5000 {
		t.Errorf("final report for h1's egress %+v", h1)
	}
	// Lost pings are lost at h1's egress (ARP frames may be lost there too).
	lost := uint64(sent - got)
	if h1.DroppedLoss < lost || h1.DroppedLoss > lost+3 {
		t.Errorf("switch dropped %d frames, ping lost %d", h1.DroppedLoss, lost)
	}
	t.Logf("ping %d/%d, rtt min %.2f avg %.2f ms; h1 egress dropped %d", got, sent, minRTT, avgRTT, h1.DroppedLoss)
}
