#!/usr/bin/env python3
"""QUIC ceiling: how fast is the quic workload's tool itself over the bare LAN (`internal`)?

Runs the real `quic` workload through the harness on a fresh local testbed (namespaces,
bridge, records) over `internal` and prints the bulk throughput of every ring link and
their median, plus the handshake and time-to-first-byte medians. The tool must not be the
bottleneck of any VPN measurement: the target is >= 2000 Mbit/s here. The figure depends on
how busy the machine is (client and server share its cores), so it is printed, not asserted.

Usage (root): .venv/bin/python benchmarks/quic_ceiling.py [--duration S] [--rounds N]
"""

from __future__ import annotations

import argparse
import contextlib
import statistics
import tempfile
from pathlib import Path

from harness.hosts.local import LocalMachine
from harness.records.models import Status
from harness.records.store import RunStore
from harness.runner.plan import RunPlan
from harness.runner.run import RunOptions, run_plan
from harness.settings.loader import load_testbed, load_vpns
from harness.testbed.base import Testbed
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


if __name__ == "__main__":
    main()
