"""A run under an impairment profile: applied on the LAN, verified by measurement, recorded,
and felt by the benchmarks; baseline stays on the plain kernel path."""

from __future__ import annotations

import contextlib
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
    (check,) = high.checks
    assert check.verdict == "consistent", check.problems

    pings = {r.profile: metrics_as(r, PingMetrics) for r in store.load_records()
             if r.test == "ping" and r.status is Status.OK}
    assert pings["baseline"] is not None and pings["high"] is not None
    assert pings["baseline"].rtt_avg_ms is not None and pings["high"].rtt_avg_ms is not None
    # Two impaired egresses add ~14.7 ms on average (clipped uniform delay, both ways).
    assert pings["baseline"].rtt_avg_ms < 1.0
    assert 8.0 < pings["high"].rtt_avg_ms < 25.0
    phases = {p.phase for p in store.manifest.phases if p.profile == "high"}
    assert "impairment" in phases
