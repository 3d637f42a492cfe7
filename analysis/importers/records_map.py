"""Pure mapping from our result records to metric values (no I/O).

What a test's metrics mean is its workload's business: the workload registry
(harness/workloads/registry.py) maps a record's test name to the workload, whose metrics
model reads the record's metrics and whose ``analysis_values`` names the metrics.
"""

from __future__ import annotations

from typing import Any

from harness.records.models import ResultRecord
from harness.workloads.base import Workload, WorkloadMetrics
from harness.workloads.registry import WORKLOADS


def workload_of(record: ResultRecord) -> Workload[Any, Any] | None:
    """The workload that wrote ``record``; None for a test this analysis does not know."""
    return WORKLOADS.get(record.test)


def metric_values(workload: Workload[Any, Any],
                  metrics: WorkloadMetrics) -> dict[str, float | None]:
    """Metric values (names as in analysis/catalogue.py) of one record's metrics."""
    values: dict[str, float | None] = workload.analysis_values(metrics)
    return values


def sample_of(record: ResultRecord) -> str:
    """Which records are combined: a concurrent group (parallel TCP), else a repetition."""
    if record.group:
        return f"{record.run_id}/{record.group}"
    return f"{record.run_id}/rep{record.repetition}"


def upgrade_from_v1(document: dict[str, Any], model: str) -> dict[str, Any]:
    """A schema-1 document in the schema-2 shape: records had no ``parameters`` (null:
    not recorded) and tagged their metrics with ``kind`` (the test says it now)."""
    upgraded = {**document, "schema_version": 2}
    if model == "ResultRecord":
        upgraded.setdefault("parameters", None)
        metrics = upgraded.get("metrics")
        if isinstance(metrics, dict):
            upgraded["metrics"] = {k: v for k, v in metrics.items() if k != "kind"}
    return upgraded


def parameters_text(record: ResultRecord) -> str:
    """The record's parameters as one line (``not recorded`` for schema-1 records)."""
    if record.parameters is None:
        return "not recorded (schema 1)"
    return " ".join(f"{key}={value}" for key, value in record.parameters.items())
