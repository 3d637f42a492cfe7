#!/usr/bin/env python3
"""Harness overhead: the share of wall time spent outside the measurements.

overhead = (wall time - time in the "benchmark" phase) / wall time, target <= 10 %
(the reference implementation spent 37 % outside measurement). Prints the phase breakdown.

Usage (root):
    .venv/bin/python benchmarks/harness_overhead.py               # a default local run
    .venv/bin/python benchmarks/harness_overhead.py --duration 10 --vpn internal,wireguard
    .venv/bin/python benchmarks/harness_overhead.py --run-dir results/<run-id>   # no new run
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from collections import defaultdict
from pathlib import Path

from harness.records.store import RunStore


def breakdown(run_dir: Path) -> None:
    manifest = RunStore.open_existing(run_dir).manifest
    if manifest.ended_at is None:
        raise SystemExit(f"{run_dir}: the run has not ended")
    wall = (manifest.ended_at - manifest.started_at).total_seconds()
    per_phase: dict[str, float] = defaultdict(float)
    for phase in manifest.phases:
        per_phase[phase.phase] += phase.duration_s
    accounted = sum(per_phase.values())
    benchmark = per_phase.get("benchmark", 0.0)
    print(f"run: {run_dir}")
    print(f"wall time: {wall:.1f} s; phases add up to {accounted:.1f} s")
    for name, seconds in sorted(per_phase.items(), key=lambda item: -item[1]):
        print(f"  {name:<12} {seconds:8.1f} s  {100 * seconds / wall:5.1f} %")
    overhead = (wall - benchmark) / wall
    print(f"harness overhead: {100 * overhead:.1f} %  (target <= 10 %)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run-dir", type=Path, help="analyse an existing run instead")
    parser.add_argument("--duration", default=None, help="seconds per iperf3 test")
    parser.add_argument("--vpn", default=None, help="VPNs (default: every VPN runnable here)")
    args = parser.parse_args()
    if args.run_dir:
        breakdown(args.run_dir)
        return
    with tempfile.TemporaryDirectory(prefix="vpb-overhead-") as tmp:
        command = [sys.executable, "-m", "harness", "run", "--out", tmp, "--no-progress"]
        if args.duration:
            command += ["--duration", args.duration]
        if args.vpn:
            command += ["--vpn", args.vpn]
        print("running:", " ".join(command[1:]), flush=True)
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
        (run_dir,) = [path.parent for path in Path(tmp).glob("*/manifest.json")]
        breakdown(run_dir)


if __name__ == "__main__":
    main()
