#!/usr/bin/env python3
"""Every VPN of the registry in one run: single-stream TCP and ping RTT, with versions.

Runs the harness once (local testbed, baseline profile, tests ``tcp,ping``) over ``internal``
and every VPN, then prints one row per VPN: whether it came up, how long that took, the
median over the three links of TCP throughput (receiver side, Mbit/s) and of the mean ping
RTT, and the version the daemon reported (``vpn_version`` of the records). A VPN that cannot
run here gets its reason in the row instead of figures.

Usage (root; the VPN daemons on PATH, e.g. ``PATH=/opt/vpn-bench/bin:$PATH``):
    .venv/bin/python benchmarks/all_vpns.py                      # new run, 5 s, 20 pings
    .venv/bin/python benchmarks/all_vpns.py --duration 10 --ping-count 50
    .venv/bin/python benchmarks/all_vpns.py --run-dir results/<run-id>   # table only

From a git worktree other than the one installed into the venv, prefix ``PYTHONPATH=.`` so
that the table and the run both use this tree's harness.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from harness.hosts.local import LocalMachine
from harness.records.models import ResultRecord, SessionRecord, Status
from harness.records.store import RunStore
from harness.settings.loader import load_vpns
from harness.vpns.registry import VPNS, create_adapter
from harness.workloads.ping import PingMetrics
from harness.workloads.registry import metrics_as
from harness.workloads.tcp import TcpMetrics

ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Row:
    """One VPN's line of the table."""

    vpn: str
    status: str
    ready_s: float | None
    tcp_mbps: float | None
    rtt_ms: float | None
    version: str


def median(values: list[float]) -> float | None:
    return statistics.median(values) if values else None


def summarise(vpn: str, session: SessionRecord | None, records: list[ResultRecord]) -> Row:
    """Pure: the row of one VPN from its session and its records."""
    if session is None:
        return Row(vpn, "not run", None, None, None, "")
    tcp = [m.receiver_bps / 1e6 for r in records if r.status is Status.OK
           if (m := metrics_as(r, TcpMetrics)) is not None]
    rtt = [p.rtt_avg_ms for r in records if r.status is Status.OK
           if (p := metrics_as(r, PingMetrics)) is not None and p.rtt_avg_ms is not None]
    failed = [r for r in records if r.status is not Status.OK]
    status = "up" if session.status is Status.OK else f"FAILED: {session.error or '?'}"
    if session.status is Status.OK and failed:
        status = f"up, {len(failed)}/{len(records)} tests failed"
    version = session.vpn_version or next((r.vpn_version for r in records if r.vpn_version), "")
    return Row(vpn, status, session.ready_after_s, median(tcp), median(rtt), version or "")


def table(rows: list[Row]) -> str:
    def number(value: float | None, digits: int) -> str:
        return "-" if value is None else f"{value:.{digits}f}"

    lines = [f"{'VPN':<10} {'up after s':>10} {'TCP Mbit/s':>10} {'ping ms':>8}  "
             f"{'version':<48} status",
             "-" * 100]
    for row in rows:
        lines.append(f"{row.vpn:<10} {number(row.ready_s, 1):>10} {number(row.tcp_mbps, 0):>10} "
                     f"{number(row.rtt_ms, 3):>8}  {row.version[:48]:<48} "
                     f"{' '.join(row.status.split())[:160]}")
    return "\n".join(lines)


def rows_of(run_dir: Path, skipped: dict[str, str]) -> list[Row]:
    store = RunStore.open_existing(run_dir)
    sessions = {s.vpn: s for s in (
        SessionRecord.model_validate_json((run_dir / rel).read_text())
        for rel in store.manifest.sessions)}
    records = store.load_records()
    rows = []
    for vpn in VPNS:
        if vpn in skipped:
            rows.append(Row(vpn, f"not runnable here: {skipped[vpn]}", None, None, None, ""))
        else:
            rows.append(summarise(vpn, sessions.get(vpn), [r for r in records if r.vpn == vpn]))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--run-dir", type=Path, help="print the table of an existing run")
    parser.add_argument("--duration", type=int, default=5, help="seconds per iperf3 test")
    parser.add_argument("--ping-count", type=int, default=20, help="echo requests per link")
    parser.add_argument("--out", type=Path, help="keep the run under this directory "
                        "(default: a temporary one, removed afterwards)")
    args = parser.parse_args()
    settings = load_vpns()
    skipped = {vpn: reason for vpn in VPNS
               if (reason := create_adapter(settings[vpn]).unavailable_reason(LocalMachine()))}
    if args.run_dir:
        print(table(rows_of(args.run_dir, {})))
        return
    runnable = [vpn for vpn in VPNS if vpn not in skipped]
    with tempfile.TemporaryDirectory(prefix="vpb-all-vpns-") as tmp:
        out = args.out.resolve() if args.out else Path(tmp)
        before = set(out.glob("*/manifest.json"))
        command = [sys.executable, "-m", "harness", "run", "--out", str(out), "--no-progress",
                   "--vpn", ",".join(runnable), "--test", "tcp,ping",
                   "--duration", str(args.duration), "--ping-count", str(args.ping_count)]
        print("running:", " ".join(command[1:]), flush=True)
        subprocess.run(command, check=False, stdout=subprocess.DEVNULL, cwd=ROOT)
        found = [path.parent for path in set(out.glob("*/manifest.json")) - before]
        if len(found) != 1:
            raise SystemExit(f"the run wrote no run directory under {out}")
        if args.out:
            print(f"run directory: {found[0]}")
        print(table(rows_of(found[0], skipped)))

if __name__ == "__main__":
    main()
