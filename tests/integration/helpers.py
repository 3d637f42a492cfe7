"""Small helpers for integration tests that run the real harness."""

from __future__ import annotations

import contextlib
from pathlib import Path

from harness.records.models import ResultRecord, SessionRecord
from harness.records.store import RunStore
from harness.runner.plan import RunPlan
from harness.runner.run import RunOptions, run_plan
from harness.settings.loader import load_testbed, load_vpns
from harness.testbed.base import Testbed
from harness.testbed.local.testbed import LocalTestbed, LocalTestbedSpec
from harness.workloads.base import WorkloadParams
from harness.workloads.parameters import (
    apply_fields,
    apply_shared,
    default_parameters,
    fixed_label,
)
from harness.workloads.registry import TEST_NAMES


def short_parameters(duration: int = 1, ping_count: int = 5,
                     ping_interval: float = 0.2) -> dict[str, WorkloadParams]:
    """Every workload's parameters with short durations, set through the shared keys (and
    a small closure for nix_cache)."""
    label = fixed_label("test helper")
    params = apply_shared(default_parameters(), {"duration": duration, "ping_count": ping_count,
                                                 "ping_interval": ping_interval},
                          lambda key, value: f"test helper {key}={value}")
    return apply_fields(params, "nix_cache",
                        {"paths_count": 20, "total_size_mb": 4, "runs": 2}, label)


def short_plan(vpns: list[str], tests: list[str] | None = None) -> RunPlan:
    return RunPlan(hosts=load_testbed().hosts, vpns=vpns, profiles=["baseline"],
                   tests=tests or list(TEST_NAMES), parameters=short_parameters())


def local_factory() -> LocalTestbed:
    settings = load_testbed()
    return LocalTestbed(LocalTestbedSpec(hosts=settings.hosts, lan=settings.lan))


def run_short(
    out_dir: Path, vpns: list[str], tests: list[str] | None = None,
    ready_timeout_s: float | None = None,
) -> tuple[list[ResultRecord], list[SessionRecord], Path]:
    def factory() -> contextlib.AbstractContextManager[Testbed]:
        return local_factory()

    run_dir = run_plan(short_plan(vpns, tests), load_vpns(), factory,
                       RunOptions(out_dir=out_dir, live_progress=False,
                                  ready_timeout_s=ready_timeout_s))
    store = RunStore.open_existing(run_dir)
    sessions = [SessionRecord.model_validate_json((run_dir / rel).read_text())
                for rel in store.manifest.sessions]
    return store.load_records(), sessions, run_dir
