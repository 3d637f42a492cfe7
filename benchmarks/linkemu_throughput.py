"""Throughput and RTT through vpb-linkemu, the user-space netem switch.

Builds the Go binary, creates its own network namespaces (prefix ``hB-``):
two hosts whose veth peers live in a LAN namespace, and measures
single-stream TCP with iperf3

  (a) over a plain Linux bridge,
  (b) through vpb-linkemu with zero impairment (its fast path),
  (c) through vpb-linkemu for each impairment profile (both egresses),

plus ping RTT per profile against the configured delay (a round trip crosses
two impaired egresses, so RTT ~ 2 x delay, more with clipped jitter). Prints
one line per measurement. Everything created is removed in a ``finally``.

Run as root:  .venv/bin/python benchmarks/linkemu_throughput.py [--seconds 10]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
LINKEMU_SRC = REPO / "harness" / "impairment" / "linkemu"
PREFIX = f"hB-{os.getpid() % 100000}"
LAN_NS = f"{PREFIX}-lan"
SUBNET = "10.201.77"
MSS_BYTES = 1448
READY_TIMEOUT_S = 10.0


@dataclass(frozen=True)
class Profile:
    """Per-egress impairment, as in the issue's profile table."""

    name: str
    delay_ms: float
    jitter_ms: float
    loss: float
    reorder: float
    reorder_corr: float

    def egress(self) -> dict[str, object]:
        """The vpb-linkemu egress block for this profile."""
        if self.delay_ms == 0:
            return {}
        return {
            "delay_us": self.delay_ms * 1000,
            "jitter_us": self.jitter_ms * 1000,
            "loss": {"model": "random", "probability": self.loss},
            "reorder": {"probability": self.reorder, "correlation": self.reorder_corr},
            "limit_packets": 100_000,
        }

    def expected_rtt_ms(self) -> float:
        """Mean RTT the model implies: twice the mean of max(0, U[d-j, d+j))."""
        d, j = self.delay_ms, self.jitter_ms
        if j == 0 or d >= j:
            return 2 * d
        return 2 * (d + j) ** 2 / (4 * j)

    def mathis_mbps(self) -> float | None:
        """Loss-only TCP estimate (Mathis et al.): MSS/RTT * 1.22/sqrt(p).

        Ignores reordering, which with this much jitter dominates in practice.
        """
        if self.loss == 0:
            return None
        rtt_s = self.expected_rtt_ms() / 1000
        return MSS_BYTES * 8 / rtt_s * 1.22 / math.sqrt(self.loss) / 1e6


PROFILES = [
    Profile("zero", 0, 0, 0, 0, 0),
    Profile("low", 2, 2, 0.0025, 0.005, 0.25),
    Profile("medium", 4, 7, 0.01, 0.025, 0.5),
    Profile("high", 6, 15, 0.025, 0.05, 0.5),
]


def sh(*args: str, check: bool = True, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """Run a command, capturing text output; raise with its stderr on failure."""
    proc = subprocess.run(args, capture_output=True, text=True, timeout=timeout, check=False)
    if check and proc.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} failed ({proc.returncode}): {proc.stderr.strip()}")
    return proc


def in_ns(ns: str, *args: str) -> list[str]:
    """Prefix a command so it runs inside namespace ns."""
    return ["ip", "netns", "exec", ns, *args]


class Testbed:
    """Two host namespaces whose veth peers sit in one LAN namespace."""

    def __init__(self, hosts: int = 2) -> None:
        self.hosts = [f"{PREFIX}-h{i + 1}" for i in range(hosts)]
        self.lan_ports = [f"p-h{i + 1}" for i in range(hosts)]
        self.created: list[str] = []

    def address(self, i: int) -> str:
        return f"{SUBNET}.{i + 1}"

    def up(self) -> None:
        sh("ip", "netns", "add", LAN_NS)
        self.created.append(LAN_NS)
        sh(*in_ns(LAN_NS, "ip", "link", "set", "lo", "up"))
        for i, (host, port) in enumerate(zip(self.hosts, self.lan_ports, strict=True)):
            sh("ip", "netns", "add", host)
            self.created.append(host)
            sh(*in_ns(host, "ip", "link", "set", "lo", "up"))
            sh(
                "ip",
                "link",
                "add",
                "eth0",
                "netns",
                host,
                "type",
                "veth",
                "peer",
                "name",
                port,
                "netns",
                LAN_NS,
            )
            sh(*in_ns(host, "ip", "addr", "add", f"{self.address(i)}/24", "dev", "eth0"))
            sh(*in_ns(host, "ip", "link", "set", "eth0", "up"))
            sh(*in_ns(LAN_NS, "ip", "link", "set", port, "up"))
            # Offloads off on both ends: netem semantics are per MTU frame,
            # and frames relayed through AF_PACKET need complete checksums.
            for ns, dev in ((host, "eth0"), (LAN_NS, port)):
                sh(
                    *in_ns(
                        ns,
                        "ethtool",
                        "-K",
                        dev,
                        "gro",
                        "off",
                        "gso",
                        "off",
                        "tso",
                        "off",
                        "tx",
                        "off",
                    )
                )
        sh(*in_ns(LAN_NS, "ip", "link", "add", "br0", "type", "bridge"))
        sh(*in_ns(LAN_NS, "ip", "link", "set", "br0", "up"))

    def bridge(self, attached: bool) -> None:
        """Enslave the LAN ports to br0, or detach them for the switch."""
        for port in self.lan_ports:
            if attached:
                sh(*in_ns(LAN_NS, "ip", "link", "set", port, "master", "br0"))
            else:
                sh(*in_ns(LAN_NS, "ip", "link", "set", port, "nomaster"))

    def down(self) -> None:
        for ns in reversed(self.created):
            sh("ip", "netns", "del", ns, check=False)
        self.created.clear()


class Linkemu:
    """One vpb-linkemu process in the LAN namespace."""

    def __init__(self, binary: Path, workdir: Path, testbed: Testbed, profile: Profile) -> None:
        self.ready = workdir / f"ready-{profile.name}"
        self.stats = workdir / f"stats-{profile.name}.json"
        cfg = {
            "ports": [{"interface": p, "egress": profile.egress()} for p in testbed.lan_ports],
            "seed": 42,
            "ready_file": str(self.ready),
            "stats_file": str(self.stats),
        }
        self.config = workdir / f"config-{profile.name}.json"
        self.config.write_text(json.dumps(cfg))
        self.stderr = (workdir / f"stderr-{profile.name}.txt").open("w")
        self.proc = subprocess.Popen(
            in_ns(LAN_NS, str(binary), "--config", str(self.config)),
            stdout=subprocess.DEVNULL,
            stderr=self.stderr,
        )
        deadline = time.monotonic() + READY_TIMEOUT_S
        while not self.ready.exists():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"vpb-linkemu did not become ready; see {self.stderr.name}")
            time.sleep(0.02)

    def stop(self) -> dict[str, object] | None:
        """SIGTERM by PID, wait, and return the final stats if written."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        self.stderr.close()
        if self.stats.exists():
            result: dict[str, object] = json.loads(self.stats.read_text())
            return result
        return None


def iperf3_mbps(testbed: Testbed, seconds: int) -> float:
    """Single-stream TCP from host 1 to host 2, receiver-side Mbit/s."""
    server = subprocess.Popen(
        in_ns(testbed.hosts[1], "iperf3", "-s", "-1", "-B", testbed.address(1)),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        time.sleep(0.3)
        out = sh(
            *in_ns(
                testbed.hosts[0],
                "iperf3",
                "-c",
                testbed.address(1),
                "-t",
                str(seconds),
                "-O",
                "2",
                "-J",
            ),
            timeout=seconds + 60,
        ).stdout
        report = json.loads(out)
        return float(report["end"]["sum_received"]["bits_per_second"]) / 1e6
    finally:
        if server.poll() is None:
            server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=5)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(timeout=5)


@dataclass(frozen=True)
class PingResult:
    sent: int
    received: int
    min_ms: float
    avg_ms: float
    max_ms: float
    mdev_ms: float


def ping(testbed: Testbed, count: int) -> PingResult:
    """Bounded ping burst (count packets, 10 ms apart) from host 1 to 2."""
    out = sh(
        *in_ns(
            testbed.hosts[0],
            "ping",
            "-c",
            str(count),
            "-i",
            "0.01",
            "-W",
            "1",
            "-q",
            testbed.address(1),
        ),
        check=False,
        timeout=count * 0.01 + 30,
    ).stdout
    counts = re.search(r"(\d+) packets transmitted, (\d+) received", out)
    rtt = re.search(r"= ([\d.]+)/([\d.]+)/([\d.]+)/([\d.]+) ms", out)
    if counts is None or rtt is None:
        raise RuntimeError(f"unexpected ping output: {out!r}")
    return PingResult(int(counts[1]), int(counts[2]), *(float(x) for x in rtt.groups()))


def build(workdir: Path) -> Path:
    binary = workdir / "vpb-linkemu"
    env = dict(os.environ, CGO_ENABLED="0")
    proc = subprocess.run(
        ["go", "build", "-o", str(binary), "./cmd/vpb-linkemu"],
        cwd=LINKEMU_SRC,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"go build failed: {proc.stderr}")
    return binary


def port_summary(stats: dict[str, object] | None) -> str:
    if not stats:
        return "no stats"
    ports = stats.get("ports")
    if not isinstance(ports, list):
        return "no stats"
    parts = []
    for p in ports:
        lat = p["send_lateness_us"]
        parts.append(
            f"{p['interface']}: rx {p['frames_received']} loss {p['dropped_loss']} "
            f"limit {p['dropped_limit']} reord {p['reordered']} sockdrop {p['dropped_socket']} "
            f"delay mean {p['delay_us']['mean']:.0f}us late mean {lat['mean']:.0f}us "
            f"max {lat['max']:.0f}us"
        )
    return "; ".join(parts)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=10, help="iperf3 duration per run")
    parser.add_argument("--pings", type=int, default=300, help="pings per profile")
    parser.add_argument(
        "--profiles",
        default="zero,low,medium,high",
        help="comma-separated subset of: zero, low, medium, high",
    )
    args = parser.parse_args()
    if os.geteuid() != 0:
        print("needs root (network namespaces)", file=sys.stderr)
        return 2
    wanted = args.profiles.split(",")
    unknown = [w for w in wanted if w not in {p.name for p in PROFILES}]
    if unknown:
        print(f"unknown profile(s) {unknown}; choose from zero, low, medium, high", file=sys.stderr)
        return 2
    if args.seconds < 1 or args.seconds > 120 or args.pings < 1 or args.pings > 5000:
        print("--seconds must be 1..120 and --pings 1..5000", file=sys.stderr)
        return 2

    workdir = Path(tempfile.mkdtemp(prefix="hB-linkemu-"))
    testbed = Testbed()
    running: list[Linkemu] = []
    try:
        binary = build(workdir)
        testbed.up()
        testbed.bridge(attached=True)
        bridge_mbps = iperf3_mbps(testbed, args.seconds)
        bridge_ping = ping(testbed, args.pings)
        base = bridge_ping.avg_ms
        print(f"bridge          TCP {bridge_mbps:8.1f} Mbit/s   ping avg {base:.3f} ms")
        testbed.bridge(attached=False)
        for profile in PROFILES:
            if profile.name not in wanted:
                continue
            emu = Linkemu(binary, workdir, testbed, profile)
            running.append(emu)
            mbps = iperf3_mbps(testbed, args.seconds)
            pr = ping(testbed, args.pings)
            stats = emu.stop()
            running.remove(emu)
            mathis = profile.mathis_mbps()
            expect = f"{mathis:.0f} Mbit/s (Mathis, loss only)" if mathis else "line rate"
            print(f"linkemu {profile.name:7s} TCP {mbps:8.1f} Mbit/s   model: {expect}")
            print(
                f"        {'':7s} ping {pr.received}/{pr.sent} rtt min/avg/max "
                f"{pr.min_ms:.2f}/{pr.avg_ms:.2f}/{pr.max_ms:.2f} ms "
                f"(configured 2 x {profile.delay_ms:g} ms; model mean "
                f"{profile.expected_rtt_ms():.2f} ms + base {base:.2f} ms)"
            )
            print(f"        {'':7s} {port_summary(stats)}")
        return 0
    finally:
        for emu in running:
            emu.stop()
        testbed.down()
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
