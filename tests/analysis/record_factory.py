"""Small hand-made run directories with known answers, written by the harness's own store.

These are real records (the harness's pydantic models and RunStore), just with numbers
chosen so every metric has an answer that can be worked out by hand.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from harness.records.models import (
    Contention,
    PhaseTiming,
    ResultRecord,
    RunManifest,
    SessionRecord,
    Status,
)
from harness.records.store import RunStore
from harness.workloads.base import WorkloadMetrics
from harness.workloads.ping import PingMetrics
from harness.workloads.registry import workload
from harness.workloads.tcp import TcpMetrics
from harness.workloads.udp import UdpMetrics

HOSTS = ("lom", "yuki", "luna")
RING = (("lom", "yuki"), ("yuki", "luna"), ("luna", "lom"))
T0 = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
MBIT = 1_000_000


def _base(run_id: str, vpn: str, profile: str, test: str, link: tuple[str, str],
          repetition: int, status: Status, error: str | None) -> dict[str, object]:
    """Fields every record has; parameters are the workload's defaults, as measured."""
    return {
        "run_id": run_id, "vpn": vpn, "profile": profile, "test": test,
        "source": link[0], "target": link[1], "repetition": repetition,
        "started_at": T0, "ended_at": T0 + timedelta(seconds=30),
        "status": status, "error": error,
        "parameters": workload(test).params_model().model_dump(mode="json"),
    }


def _dump(metrics: WorkloadMetrics) -> dict[str, object]:
    return metrics.model_dump(mode="json")


def tcp(vpn: str, link: tuple[str, str], mbps: float, *, profile: str = "baseline",
        run_id: str = "run1", repetition: int = 0, retransmits: int = 0,
        bytes_sent: int = 1_448_000, mss: int | None = 1448, cwnd: int | None = 100_000,
        receiver_mbps: float | None = None, reverse_mbps: float | None = None,
        test: str = "tcp", group: str | None = None) -> ResultRecord:
    metrics = TcpMetrics(
        duration_s=30.0, sender_bps=mbps * MBIT,
        receiver_bps=(receiver_mbps if receiver_mbps is not None else mbps) * MBIT,
        reverse_sender_bps=None if reverse_mbps is None else reverse_mbps * MBIT,
        retransmits=retransmits, bytes_sent=bytes_sent, bytes_received=bytes_sent,
        mss_bytes=mss, max_snd_cwnd_bytes=cwnd,
    )
    fields = _base(run_id, vpn, profile, test, link, repetition, Status.OK, None)
    return ResultRecord.model_validate(
        {**fields, "metrics": _dump(metrics), "group": group,
         "concurrent_links": 3 if group else 1}
    )


def failed(vpn: str, link: tuple[str, str], test: str, error: str, *,
           profile: str = "baseline", run_id: str = "run1", repetition: int = 0,
           status: Status = Status.FAILED, group: str | None = None) -> ResultRecord:
    fields = _base(run_id, vpn, profile, test, link, repetition, status, error)
    return ResultRecord.model_validate({**fields, "group": group})


def ping(vpn: str, link: tuple[str, str], avg: float, low: float, high: float, mdev: float,
         loss_pct: float = 0.0, *, profile: str = "baseline", run_id: str = "run1",
         repetition: int = 0) -> ResultRecord:
    received = round(100 * (1 - loss_pct / 100))
    metrics = PingMetrics(transmitted=100, received=received, loss_pct=loss_pct,
                          rtt_min_ms=low, rtt_avg_ms=avg, rtt_max_ms=high, rtt_mdev_ms=mdev,
                          interval_s=0.2)
    fields = _base(run_id, vpn, profile, "ping", link, repetition, Status.OK, None)
    return ResultRecord.model_validate({**fields, "metrics": _dump(metrics)})


def udp(vpn: str, link: tuple[str, str], sent_mbps: float, received_mbps: float,
        lost_pct: float, jitter_ms: float, blksize: int = 1400, *,
        profile: str = "baseline", run_id: str = "run1") -> ResultRecord:
    metrics = UdpMetrics(duration_s=30.0, blksize_bytes=blksize, sender_bps=sent_mbps * MBIT,
                         receiver_bps=received_mbps * MBIT, jitter_ms=jitter_ms,
                         lost_packets=int(lost_pct), packets=100, lost_pct=lost_pct)
    fields = _base(run_id, vpn, profile, "udp", link, 0, Status.OK, None)
    return ResultRecord.model_validate({**fields, "metrics": _dump(metrics)})


def session(vpn: str, ready_after_s: float | None, *, profile: str = "baseline",
            run_id: str = "run1", repetition: int = 0, status: Status = Status.OK,
            error: str | None = None) -> SessionRecord:
    return SessionRecord(run_id=run_id, vpn=vpn, profile=profile, repetition=repetition,
                         started_at=T0, ended_at=T0 + timedelta(seconds=5), status=status,
                         error=error, ready_after_s=ready_after_s, vpn_version="1.0",
                         interfaces={"lom": {"wg0": 1420}})


def phase(name: str, seconds: float, vpn: str | None, profile: str | None) -> PhaseTiming:
    return PhaseTiming(phase=name, vpn=vpn, profile=profile, started_at=T0,
                       duration_s=seconds)


def write_run(run_dir: Path, records: Iterable[ResultRecord],
              sessions: Iterable[SessionRecord] = (), phases: Iterable[PhaseTiming] = (),
              run_id: str = "run1", metadata: dict[str, object] | None = None) -> Path:
    """A complete run directory (manifest, records, sessions) via the harness's RunStore."""
    records = list(records)
    manifest = RunManifest(
        run_id=run_id, started_at=T0, ended_at=T0 + timedelta(hours=1), hosts=list(HOSTS),
        vpns=sorted({r.vpn for r in records}), profiles=sorted({r.profile for r in records}),
        tests=sorted({r.test for r in records}), complete=True,
        metadata=metadata or {"kernel": "6.1.0-test", "sysctls": {"net.core.rmem_max": "1"}},
    )
    store = RunStore(run_dir, manifest)
    for record in records:
        store.add_record(record)
    for item in sessions:
        store.add_session(item)
    for timing in phases:
        store.add_phase(timing)
    store.save_manifest()
    return run_dir


def downgrade_to_v1(run_dir: Path) -> Path:
    """Rewrite a run directory in the schema-1 shape the harness wrote before workload
    parameters were recorded: no ``parameters``, metrics tagged with their ``kind``."""
    kinds = {"tcp": "tcp", "parallel_tcp": "tcp", "udp": "udp", "ping": "ping"}
    manifest_path = run_dir / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    for rel in manifest["records"]:
        path = run_dir / rel
        document = json.loads(path.read_text())
        document.pop("parameters")
        if document["metrics"] is not None:
            document["metrics"] = {"kind": kinds[document["test"]], **document["metrics"]}
        document["schema_version"] = 1
        path.write_text(json.dumps(document))
    for rel in manifest["sessions"]:
        path = run_dir / rel
        path.write_text(json.dumps({**json.loads(path.read_text()), "schema_version": 1}))
    manifest["schema_version"] = 1
    manifest_path.write_text(json.dumps(manifest))
    return run_dir


def flagged(record: ResultRecord, busy: bool) -> ResultRecord:
    """``record`` with a contention verdict (the raw figures do not matter to the analysis)."""
    contention = Contention(busy=busy, reason="lom: run queue 3 >= 2 (2 cores) before the test"
                            if busy else "quiet", rule="test rule")
    return record.model_copy(update={"contention": contention})
