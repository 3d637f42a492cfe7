"""A run under an impairment profile: applied on the LAN, verified by measurement, recorded,
and felt by the benchmarks; baseline stays on the plain kernel path."""

from __future__ import annotations

import contextlib
import statistics
from pathlib import Path

import pytest

from harness.impairment.profiles import BUILTIN_PROFILES
from harness.records.models import SessionRecord, Status
from harness.records.store import RunStore
from harness.runner.plan import RunPlan
from harness.runner.run import RunOptions, run_plan
from harness.settings.loader import load_testbed, load_vpns
from harness.testbed.base import Testbed
from harness.workloads.ping import PingMetrics
from harness.workloads.registry import metrics_as
from tests.integration.helpers import local_factory, short_parameters

pytestmark = [pytest.mark.root, pytest.mark.slow]


def _factory() -> contextlib.AbstractContextManager[Testbed]:
    return local_factory()


def test_high_profile_is_applied_verified_and_recorded(tmp_path: Path) -> None:
    plan = RunPlan(hosts=load_testbed().hosts, vpns=["internal"], profiles=["baseline", "high"],
                   tests=["ping", "tcp"],
                   parameters=short_parameters(duration=2, ping_count=40, ping_interval=0.05),
                   profile_definitions=dict(BUILTIN_PROFILES), seed=7)
    run_dir = run_plan(plan, load_vpns(), _factory,
                       RunOptions(out_dir=tmp_path, live_progress=False))
    store = RunStore.open_existing(run_dir)
    sessions = {s.profile: s for s in (SessionRecord.model_validate_json(
        (run_dir / rel).read_text()) for rel in store.manifest.sessions)}
    assert sessions["baseline"].impairment is None

    high = sessions["high"].impairment
    assert high is not None and high.engine in ("userspace", "tc")
    assert high.seed == 7 and high.removed_at is not None
    assert high.round_trip is not None and high.round_trip.loss_percent == pytest.approx(4.9375)
    # Timing figures are compared only on a quiet host: under contention they are the
    # scheduler's (the records say so), and the comparison is skipped with the reason,
    # after everything else was asserted.
    busy: list[str] = []
    (check,) = high.checks
    if check.verdict != "consistent":
        contention = sessions["high"].impairment_contention
        assert contention is not None and contention.busy, (check.problems, contention)
        busy.append(f"impairment check {check.problems} [{contention.reason}]")

    records = {r.profile: r for r in store.load_records()
               if r.test == "ping" and r.status is Status.OK}
    assert set(records) == {"baseline", "high"}
    assert all(r.contention is not None and r.quiet_path is not None for r in records.values())
    medians = {}
    for profile_name, record in records.items():
        metrics = metrics_as(record, PingMetrics)
        assert metrics is not None
        medians[profile_name] = statistics.median(
            sample for sample in metrics.samples_ms if sample is not None)
    # Two impaired egresses add ~14.6 ms (median of two clipped uniform delays).
    for profile_name, low, high_ms in (("baseline", 0.0, 1.0), ("high", 8.0, 25.0)):
        if not low < medians[profile_name] < high_ms:
            contention = records[profile_name].contention
            assert contention is not None and contention.busy, (medians, contention)
            busy.append(f"{profile_name} ping median {medians[profile_name]:.3f} ms outside "
                        f"({low:g}, {high_ms:g}) [{contention.reason}]")
    phases = {p.phase for p in store.manifest.phases if p.profile == "high"}
    assert "impairment" in phases
    if busy:
        pytest.skip("host busy, timing comparisons skipped: " + " | ".join(busy))
