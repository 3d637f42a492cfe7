#!/usr/bin/env python3
"""QUIC ceiling: how fast is the quic workload's tool itself over the bare LAN (`internal`)?

Runs the real `quic` workload through the harness on a fresh local testbed (namespaces,
bridge, records) over `internal` and prints the bulk throughput of every ring link and
their median, plus the handshake and time-to-first-byte medians. The tool must not be the
bottleneck of any VPN measurement: the target is >= 2000 Mbit/s here. The figure depends on
how busy the machine is (client and server share its cores), so it is printed, not asserted.

Because other work on the machine takes CPU from the tool, it also measures the tool's
efficiency, which load hardly changes: vpb-quic client and server over a bare veth pair
between two fresh namespaces, Mbit transferred per CPU-second the two processes used. That
times the machine's cores is what the tool would reach with the machine to itself.

Usage (root): .venv/bin/python benchmarks/quic_ceiling.py [--duration S] [--rounds N]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from harness.hosts.local import LocalMachine
from harness.records.models import Status
from harness.records.store import RunStore
from harness.runner.plan import RunPlan
from harness.runner.run import RunOptions, run_plan
from harness.settings.loader import load_testbed, load_vpns
from harness.testbed.base import Testbed
from harness.testbed.local.cleanup import destroy_testbed
from harness.testbed.local.names import PREFIX, new_testbed_id
from harness.testbed.local.testbed import LocalTestbed, LocalTestbedSpec
from harness.workloads.quic import QuicMetrics, QuicParams, QuicWorkload
from harness.workloads.registry import metrics_as

TARGET_MBPS = 2000.0


def quic_over(vpn: str, params: QuicParams, out: Path) -> list[tuple[str, QuicMetrics | str]]:
    """(link, metrics or the failure) of every ring link of one run of the quic workload."""
    settings = load_testbed()

    def factory() -> contextlib.AbstractContextManager[Testbed]:
        return LocalTestbed(LocalTestbedSpec(hosts=settings.hosts, lan=settings.lan))

    plan = RunPlan(hosts=settings.hosts, vpns=[vpn], profiles=["baseline"], tests=["quic"],
                   parameters={"quic": params})
    run_dir = run_plan(plan, load_vpns(), factory, RunOptions(out_dir=out, live_progress=False))
    results: list[tuple[str, QuicMetrics | str]] = []
    for record in RunStore.open_existing(run_dir).load_records():
        metrics = metrics_as(record, QuicMetrics)
        label = f"{record.source}->{record.target}"
        if record.status is Status.OK and metrics is not None:
            results.append((label, metrics))
        else:
            results.append((label, f"{record.status.value}: {record.error}"))
    return results


def _cpu_seconds(process: subprocess.Popen[bytes]) -> float:
    """Wait for ``process``; user + system CPU seconds it used."""
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    return usage.ru_utime + usage.ru_stime


def veth_efficiency(binary: str, duration: int) -> tuple[float, float]:
    """(Mbit/s, Mbit per CPU-second of client + server) of vpb-quic over a bare veth pair."""
    testbed_id = new_testbed_id()
    a, b = f"{PREFIX}-{testbed_id}-qa", f"{PREFIX}-{testbed_id}-qb"

    def sh(*argv: str) -> None:
        subprocess.run(argv, check=True, capture_output=True, timeout=30)

    try:
        sh("ip", "netns", "add", a)
        sh("ip", "netns", "add", b)
        sh("ip", "link", "add", "veth0", "netns", a, "type", "veth", "peer", "name", "veth0",
           "netns", b)
        for ns, address in ((a, "10.254.1.1/24"), (b, "10.254.1.2/24")):
            sh("ip", "-n", ns, "link", "set", "lo", "up")
            sh("ip", "-n", ns, "addr", "add", address, "dev", "veth0")
            sh("ip", "-n", ns, "link", "set", "veth0", "up")
        server = subprocess.Popen(["ip", "netns", "exec", b, binary, "server", "--port",
                                   "4433", "--lifetime", str(duration + 30)],
                                  stderr=subprocess.DEVNULL)
        try:
            time.sleep(0.5)
            client = subprocess.Popen(["ip", "netns", "exec", a, binary, "client",
                                       "--server", "10.254.1.2", "--port", "4433",
                                       "--connections", "1", "--duration", str(duration)],
                                      stdout=subprocess.PIPE)
            assert client.stdout is not None
            output = client.stdout.read()
            client_cpu = _cpu_seconds(client)
        finally:
            server.terminate()
            server_cpu = _cpu_seconds(server)
        bulk = json.loads(output)["bulk"]
        megabits = bulk["received_bytes"] * 8 / 1e6
        return float(bulk["throughput_mbps"]), megabits / (client_cpu + server_cpu)
    finally:
        destroy_testbed(testbed_id, [a, b])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=int, default=5, help="seconds of bulk per link")
    parser.add_argument("--rounds", type=int, default=2, help="runs of the three ring links")
    parser.add_argument("--vpn", default="internal")
    args = parser.parse_args()
    reason = QuicWorkload().unavailable_reason(LocalMachine())
    if reason:
        raise SystemExit(f"quic_ceiling: {reason}")
    params = QuicParams(duration_s=args.duration)
    throughputs: list[float] = []
    handshakes: list[float] = []
    ttfbs: list[float] = []
    with tempfile.TemporaryDirectory(prefix="vpb-quic-bench-") as tmp:
        for _ in range(args.rounds):
            for label, result in quic_over(args.vpn, params, Path(tmp)):
                if isinstance(result, str):
                    print(f"{label:<12} failed: {result}")
                    continue
                throughputs.append(result.throughput_mbps)
                handshakes.extend(result.handshake_samples_ms)
                ttfbs.extend(result.ttfb_samples_ms)
                print(f"{label:<12} {result.throughput_mbps:8.0f} Mbit/s  handshake median "
                      f"{result.handshake_median_ms:5.1f} ms  ttfb median "
                      f"{result.ttfb_median_ms:5.1f} ms  gso {result.gso}")
    if not throughputs:
        raise SystemExit("quic_ceiling: no link measured")
    median = statistics.median(throughputs)
    print(f"\nQUIC ceiling over {args.vpn}: median {median:.0f} Mbit/s, max "
          f"{max(throughputs):.0f} over {len(throughputs)} links ({args.duration} s each; "
          f"target >= {TARGET_MBPS:.0f}); handshake median {statistics.median(handshakes):.1f} "
          f"ms, ttfb median {statistics.median(ttfbs):.1f} ms")
    binary = LocalMachine().which("vpb-quic") or "vpb-quic"
    efficiency = [veth_efficiency(binary, args.duration) for _ in range(args.rounds)]
    per_cpu = statistics.median(e for _, e in efficiency)
    cores = os.cpu_count() or 1
    load = os.getloadavg()[0]
    print(f"vpb-quic over a bare veth pair: {', '.join(f'{m:.0f}' for m, _ in efficiency)} "
          f"Mbit/s; {per_cpu:.0f} Mbit per CPU-second of client + server, so about "
          f"{per_cpu * cores:.0f} Mbit/s with all {cores} cores to itself "
          f"(load average now {load:.1f})")


if __name__ == "__main__":
    main()
