#!/usr/bin/env python3
"""Testbed ceiling: does the harness cost throughput compared with raw iperf3?

Prints (1) internal single-stream TCP through the full harness (namespaces, bridge, records)
divided by raw iperf3 over a bare veth pair between two namespaces, measured alternately in
the same run (target >= 0.95), and (2) single-stream TCP per VPN runnable here.

The tests are bidirectional (like the harness's TCP test). On a 2-core machine the scheduler
splits the capacity between the two directions differently from run to run (e.g. 19.7/7.0
then 5.5/19.2 Gbit/s), so the ratio compares forward + reverse, the capacity of the path;
the forward-only medians are printed too.

Usage (root): .venv/bin/python benchmarks/testbed_ceiling.py [--duration S] [--rounds N]
"""

from __future__ import annotations

import argparse
import contextlib
import statistics
import tempfile
import time
from pathlib import Path

from harness.cli.run_command import availability, known_vpns
from harness.hosts.local_process import LocalProcess, run_command
from harness.records.models import Status
from harness.records.store import RunStore
from harness.runner.plan import RunPlan
from harness.runner.run import RunOptions, run_plan
from harness.settings.loader import load_testbed, load_vpns
from harness.testbed.base import Testbed
from harness.testbed.local.cleanup import destroy_testbed
from harness.testbed.local.names import PREFIX, new_testbed_id
from harness.testbed.local.testbed import LocalTestbed, LocalTestbedSpec
from harness.waiting import wait_until
from harness.workloads.registry import metrics_as
from harness.workloads.tcp import TCP_ARGS, TcpMetrics, TcpParams, parse_tcp


def both_directions(metrics: TcpMetrics) -> float:
    return (metrics.sender_bps + (metrics.reverse_sender_bps or 0.0)) / 1e6


def raw_veth_mbps(duration: float) -> tuple[float, float]:
    """(forward, forward + reverse) Mbit/s of iperf3 over a bare veth pair between two fresh
    namespaces, with the harness's flags."""
    testbed_id = new_testbed_id()
    a, b = f"{PREFIX}-{testbed_id}-rawa", f"{PREFIX}-{testbed_id}-rawb"

    def sh(*argv: str) -> str:
        result = run_command(argv, timeout=duration + 30)
        if not result.ok:
            raise RuntimeError(result.describe())
        return result.stdout

    try:
        sh("ip", "netns", "add", a)
        sh("ip", "netns", "add", b)
        sh("ip", "link", "add", "veth0", "netns", a, "type", "veth", "peer", "name", "veth0",
           "netns", b)
        for ns, address in ((a, "10.254.0.1/24"), (b, "10.254.0.2/24")):
            sh("ip", "netns", "exec", ns, "ip", "link", "set", "lo", "up")
            sh("ip", "netns", "exec", ns, "ip", "addr", "add", address, "dev", "veth0")
            sh("ip", "netns", "exec", ns, "ip", "link", "set", "veth0", "up")
        with tempfile.TemporaryDirectory(prefix="vpb-raw-") as logs:
            server = LocalProcess("iperf3-server", ["ip", "netns", "exec", b, "iperf3", "-s",
                                                    "-1", "-p", "5201"], Path(logs) / "server.log")
            try:
                wait_until(lambda: bool(sh("ip", "netns", "exec", b, "ss", "-Htln",
                                           "sport = :5201").strip()),
                           timeout_s=10, what="raw iperf3 server")
                client = sh("ip", "netns", "exec", a, "iperf3", "-c", "10.254.0.2", "-p",
                            "5201", "-t", f"{duration:g}", "--json", *TCP_ARGS)
            finally:
                server.stop()
        metrics = parse_tcp(client)
        return metrics.sender_bps / 1e6, both_directions(metrics)
    finally:
        destroy_testbed(testbed_id, [a, b])


def harness_mbps(vpns: list[str], duration: float,
                 out: Path) -> dict[str, list[tuple[float, float]]]:
    """Per VPN, (forward, forward + reverse) Mbit/s of every ring link."""
    settings = load_testbed()

    def factory() -> contextlib.AbstractContextManager[Testbed]:
        return LocalTestbed(LocalTestbedSpec(hosts=settings.hosts, lan=settings.lan))

    plan = RunPlan(hosts=settings.hosts, vpns=vpns, profiles=["baseline"], tests=["tcp"],
                   parameters={"tcp": TcpParams(duration_s=round(duration))})
    run_dir = run_plan(plan, load_vpns(), factory, RunOptions(out_dir=out, live_progress=False))
    results: dict[str, list[tuple[float, float]]] = {}
    for record in RunStore.open_existing(run_dir).load_records():
        metrics = metrics_as(record, TcpMetrics)
        if record.status is Status.OK and metrics is not None:
            results.setdefault(record.vpn, []).append(
                (metrics.sender_bps / 1e6, both_directions(metrics)))
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=10.0)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="vpb-bench-") as tmp:
        out = Path(tmp)
        raw: list[tuple[float, float]] = []
        through: list[tuple[float, float]] = []
        for _ in range(args.rounds):
            raw.append(raw_veth_mbps(args.duration))
            through.extend(harness_mbps(["internal"], args.duration, out)["internal"])
        for label, values in (("raw iperf3 over a bare veth pair", raw),
                              ("internal through the harness    ", through)):
            totals = [total for _, total in values]
            print(f"{label}: both directions median {statistics.median(totals):7.0f} Mbit/s "
                  f"(runs: {', '.join(f'{v:.0f}' for v in totals)}); forward only median "
                  f"{statistics.median(forward for forward, _ in values):7.0f}")
        ratio = (statistics.median(total for _, total in through)
                 / statistics.median(total for _, total in raw))
        print(f"testbed ceiling ratio (both directions): {ratio:.3f}  (target >= 0.95)")
        runnable = [name for name, reason in availability(known_vpns()).items() if reason is None]
        started = time.monotonic()
        per_vpn = harness_mbps(runnable, args.duration, out)
        print(f"\nsingle-stream TCP per VPN (forward sender, {args.duration:g} s per link, "
              f"mean over the 3 ring links; {time.monotonic() - started:.0f} s):")
        print(f"{'vpn':<12}{'Mbit/s':>10}{'min':>10}{'max':>10}")
        for vpn in runnable:
            forwards = [forward for forward, _ in per_vpn.get(vpn, [])]
            if forwards:
                print(f"{vpn:<12}{statistics.mean(forwards):>10.0f}{min(forwards):>10.0f}"
                      f"{max(forwards):>10.0f}")
            else:
                print(f"{vpn:<12}{'failed':>10}")


if __name__ == "__main__":
    main()
