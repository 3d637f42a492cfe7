"""Importer for our own run directories (``harness.records``; the harness owns the schema).

A results directory is a run directory (it has ``manifest.json``) or contains run
directories as direct children. Each manifest lists its record and session files.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from analysis.catalogue import ALL, is_known_metric, phase_name
from analysis.dataset import Dataset, DatasetBuilder, MetadataTable
from analysis.errors import AnalysisInputError, utf8_name
from analysis.importers.records_map import (
    metric_values,
    parameters_text,
    sample_of,
    upgrade_from_v1,
    workload_of,
)
from harness.outdir import inside
from harness.records.models import (
    SCHEMA_VERSION,
    PhaseTiming,
    ResultRecord,
    RunManifest,
    SessionRecord,
    Status,
)
from harness.records.store import MANIFEST, merge_index, read_index
from harness.workloads.registry import TEST_NAMES

FORMAT = "records"
#: 1: records without parameters, metrics tagged with ``kind`` (upgraded when read).
SUPPORTED_SCHEMA_VERSIONS = frozenset({1, SCHEMA_VERSION})

Model = TypeVar("Model", bound=BaseModel)


def find_run_dirs(results_dir: Path) -> list[Path]:
    """``results_dir`` itself if it is a run directory, else its run-directory children."""
    if (results_dir / MANIFEST).is_file():
        return [results_dir]
    if not results_dir.is_dir():
        return []
    found = sorted(p for p in results_dir.iterdir() if (p / MANIFEST).is_file())
    for path in found:
        utf8_name(path)
    return found


def _read_json(path: Path) -> dict[str, Any]:
    try:
        document = json.loads(path.read_bytes())
    except FileNotFoundError as error:
        raise AnalysisInputError(f"{path}: file listed in the manifest is missing") from error
    except (OSError, ValueError) as error:
        raise AnalysisInputError(f"{path}: not readable JSON ({error})") from error
    if not isinstance(document, dict):
        raise AnalysisInputError(f"{path}: expected a JSON object")
    return document


def _schema_version(document: dict[str, Any]) -> object:
    return document.get("schema_version", "missing")


def check_schema_versions(run_dirs: Iterable[Path]) -> None:
    """Refuse manifests of a schema this analysis does not know, naming each one."""
    problems = []
    for run_dir in run_dirs:
        version = _schema_version(_read_json(run_dir / MANIFEST))
        if version not in SUPPORTED_SCHEMA_VERSIONS:
            problems.append(f"{run_dir / MANIFEST}: schema_version {version}")
    if problems:
        supported = ", ".join(str(v) for v in sorted(SUPPORTED_SCHEMA_VERSIONS))
        raise AnalysisInputError(
            "unsupported record schema version(s): "
            + "; ".join(problems)
            + f". This analysis reads schema_version {supported}."
        )


def _drop_path(document: Any, location: tuple[int | str, ...]) -> None:
    """Remove the key at ``location``; steps that are not keys (union tags) are skipped."""
    current = document
    for step in location[:-1]:
        is_key = isinstance(current, dict) and step in current
        is_index = isinstance(current, list) and isinstance(step, int) and step < len(current)
        if is_key or is_index:
            current = current[step]
    if isinstance(current, dict):
        current.pop(location[-1], None)


def validate_tolerant(
    model: type[Model], document: dict[str, Any], path: Path
) -> tuple[Model, list[str]]:
    """Validate, ignoring fields the schema does not know yet (and saying which)."""
    try:
        return model.model_validate(document), []
    except ValidationError as error:
        errors = error.errors()
        if any(e["type"] != "extra_forbidden" for e in errors):
            first = errors[0]
            where = ".".join(str(step) for step in first["loc"]) or "(document)"
            raise AnalysisInputError(
                f"{path}: does not match the {model.__name__} schema "
                f"(schema_version {_schema_version(document)}): {where}: {first['msg']}"
            ) from error
    unknown = [".".join(str(step) for step in e["loc"]) for e in errors]
    for location in (tuple(e["loc"]) for e in errors):
        _drop_path(document, location)
    try:
        return model.model_validate(document), unknown
    except ValidationError as error:
        raise AnalysisInputError(f"{path}: does not match {model.__name__}: {error}") from error


UNACCOUNTED_PHASE = "unaccounted"
#: Below this, the gaps between phases are bookkeeping noise, not time worth showing.
UNACCOUNTED_MIN_S = 0.5


def unaccounted_seconds(phases: Sequence[PhaseTiming]) -> dict[str, float]:
    """Per VPN: wall span from its first phase's start to its last phase's end, minus the
    time its phases book — the time the breakdown would otherwise silently leave out."""
    spans: dict[str, tuple[float, float, float]] = {}
    for timing in phases:
        if timing.vpn is None:
            continue
        start = timing.started_at.timestamp()
        end = start + timing.duration_s
        first, last, booked = spans.get(timing.vpn, (start, end, 0.0))
        spans[timing.vpn] = (min(first, start), max(last, end), booked + timing.duration_s)
    gaps = {vpn: (last - first) - booked for vpn, (first, last, booked) in spans.items()}
    return {vpn: gap for vpn, gap in gaps.items() if gap >= UNACCOUNTED_MIN_S}


class RecordsImporter:
    """Reads every run directory and fills one :class:`DatasetBuilder`."""

    def __init__(self, results_dir: Path, run_dirs: list[Path]) -> None:
        self.results_dir = results_dir
        self.run_dirs = run_dirs
        self.out = DatasetBuilder()
        self.hosts: list[str] = []
        self.unknown_fields: set[str] = set()
        self.vpn_versions: dict[str, str] = {}
        self.tool_versions: dict[str, str] = {}
        self.interfaces: dict[tuple[str, str, str], int] = {}
        self.impairments: dict[tuple[str, str], tuple[str, ...]] = {}
        self.lan: dict[tuple[str, str], tuple[str, ...]] = {}
        #: Test name -> records of it no registered workload knows (never silently dropped).
        self.unknown_tests: dict[str, int] = {}
        #: Metric names a workload maps to that the catalogue does not define.
        self.unknown_metrics: set[str] = set()
        #: (test, profile, parameters) -> records measured with them.
        self.parameters: dict[tuple[str, str, str], int] = {}

    def load(self) -> Dataset:
        check_schema_versions(self.run_dirs)
        manifests = []
        for run_dir in self.run_dirs:
            # Records of an interrupted run are listed in its index, not yet in the manifest.
            manifest = merge_index(self._load(RunManifest, run_dir / MANIFEST),
                                   read_index(run_dir))
            manifests.append(manifest)
            self._load_run(run_dir, manifest)
        if self.unknown_tests:
            counts = ", ".join(f"{test} ({n} record{'s' if n > 1 else ''})"
                               for test, n in sorted(self.unknown_tests.items()))
            self.out.notes.append(
                f"Records of tests this analysis does not know were not analysed: {counts}. "
                f"Known tests: {', '.join(TEST_NAMES)}."
            )
        if self.unknown_metrics:
            self.out.notes.append(
                "Metrics not in the analysis catalogue (analysis/catalogue.py) were not "
                "analysed: " + ", ".join(sorted(self.unknown_metrics))
            )
        if self.unknown_fields:
            self.out.notes.append(
                "Fields unknown to this analysis were ignored: "
                + ", ".join(sorted(self.unknown_fields))
            )
        self._metadata(manifests)
        return self.out.build(FORMAT, str(self.results_dir), tuple(self.hosts))

    def _load(self, model: type[Model], path: Path) -> Model:
        document = _read_json(path)
        version = _schema_version(document)
        if version not in SUPPORTED_SCHEMA_VERSIONS:
            raise AnalysisInputError(
                f"{path}: schema_version {version} differs from its manifest's; "
                f"mixed schema versions are not supported (this analysis reads "
                f"{sorted(SUPPORTED_SCHEMA_VERSIONS)})"
            )
        if version == 1:
            document = upgrade_from_v1(document, model.__name__)
        parsed, unknown = validate_tolerant(model, document, path)
        self.unknown_fields.update(f"{model.__name__}.{name}" for name in unknown)
        return parsed

    def _load_run(self, run_dir: Path, manifest: RunManifest) -> None:
        for host in manifest.hosts:
            if host not in self.hosts:
                self.hosts.append(host)
        if not manifest.complete:
            self.out.notes.append(
                f"Run {manifest.run_id} is not marked complete (interrupted or still running)."
            )
        if manifest.backend == "vm":
            self.out.notes.append(
                f"Run {manifest.run_id} ran on NixOS test-driver VMs (QEMU guests sharing one "
                "machine): its figures are not hardware figures."
            )
        for rel in [*manifest.records, *manifest.sessions]:
            if not inside(run_dir / rel, run_dir):
                raise AnalysisInputError(f"{run_dir}: its manifest lists {rel!r}, outside the "
                                         "run directory; the run is damaged")
        for rel in manifest.records:
            self._add_record(self._load(ResultRecord, run_dir / rel), rel, run_dir / rel)
        for rel in manifest.sessions:
            self._add_session(self._load(SessionRecord, run_dir / rel), rel)
        for timing in manifest.phases:
            self.out.phase(timing.vpn, timing.profile, phase_name(timing.phase), timing.duration_s)
        for vpn, seconds in sorted(unaccounted_seconds(manifest.phases).items()):
            self.out.phase(vpn, None, UNACCOUNTED_PHASE, seconds)

    def _add_record(self, record: ResultRecord, rel: str, path: Path) -> None:
        workload = workload_of(record)
        if workload is None:
            self.unknown_tests[record.test] = self.unknown_tests.get(record.test, 0) + 1
            return
        where = (record.vpn, record.profile, record.test, record.link, sample_of(record))
        ok = record.status is Status.OK
        reason = None if ok else (record.error or f"status {record.status.value}")
        self.out.outcome(where, record.status.value, reason, f"{record.run_id}/{rel}",
                         busy=None if record.contention is None else record.contention.busy)
        self.tool_versions.update(record.tool_versions)
        key = (record.test, record.profile, parameters_text(record))
        self.parameters[key] = self.parameters.get(key, 0) + 1
        if ok and record.metrics is not None:
            metrics, unknown = validate_tolerant(workload.metrics_model, dict(record.metrics),
                                                 path)
            self.unknown_fields.update(f"ResultRecord.metrics.{record.test}.{name}"
                                       for name in unknown)
            for metric, value in metric_values(workload, metrics).items():
                if is_known_metric(metric):
                    mesh = metric in workload.mesh_metrics
                    self.out.observe((*where[:3], ALL, where[4]) if mesh else where, metric,
                                     value)
                else:
                    self.unknown_metrics.add(f"{metric} (test {record.test})")

    def _add_session(self, session: SessionRecord, rel: str) -> None:
        sample = f"{session.run_id}/rep{session.repetition}"
        where = (session.vpn, session.profile, "bringup", ALL, sample)
        ok = session.status is Status.OK
        reason = None if ok else (session.error or f"status {session.status.value}")
        self.out.outcome(where, session.status.value, reason, f"{session.run_id}/{rel}")
        if session.vpn_version:
            self.vpn_versions[session.vpn] = session.vpn_version
        for host, interfaces in session.interfaces.items():
            for name, mtu in interfaces.items():
                self.interfaces[(session.vpn, host, name)] = mtu
        if session.impairment is not None:
            self.impairments[(session.profile, f"{session.vpn} {sample}")] = impairment_row(
                session.vpn, session.impairment)
        hosts = session.testbed.get("hosts", {})
        if isinstance(hosts, dict):
            for host, facts in hosts.items():
                self.lan.setdefault((session.profile, host), lan_row(host, facts, session))
        if ok:
            where = (session.vpn, session.profile, "reconnect", ALL, sample)
            self.out.observe(where, "reconnect.bringup_s", session.ready_after_s)

    def _metadata(self, manifests: list[RunManifest]) -> None:
        runs = tuple(
            (
                m.run_id,
                m.started_at.isoformat(timespec="seconds"),
                m.ended_at.isoformat(timespec="seconds") if m.ended_at else "",
                m.backend,
                "yes" if m.complete else "no",
                " ".join(m.command_line),
            )
            for m in manifests
        )
        self.out.metadata.append(
            MetadataTable("Runs", ("run", "started", "ended", "backend", "complete", "command"),
                          runs)
        )
        self.out.metadata.append(
            MetadataTable(
                "Source",
                ("field", "value"),
                (
                    ("format", "vpn-bench run records"),
                    ("directory", str(self.results_dir)),
                    ("hosts (ring order)", " → ".join(self.hosts)),
                ),
            )
        )
        for manifest in manifests:
            self.out.metadata.extend(metadata_tables(manifest.run_id, manifest.metadata))
        if self.parameters:
            self.out.metadata.append(MetadataTable(
                "Workload parameters the records were measured with",
                ("test", "profile", "parameters", "records"),
                tuple((*key, str(n)) for key, n in sorted(self.parameters.items())),
            ))
        if self.interfaces:
            self.out.metadata.append(
                MetadataTable(
                    "Interface MTU once the VPN was up",
                    ("vpn", "host", "interface", "MTU"),
                    tuple((vpn, host, name, str(mtu))
                          for (vpn, host, name), mtu in sorted(self.interfaces.items())),
                )
            )
        if self.impairments:
            self.out.metadata.append(MetadataTable(
                "Impairment: configured per egress, derived round trip, measured before the VPN",
                IMPAIRMENT_COLUMNS,
                tuple(row for _, row in sorted(self.impairments.items())),
                note="Measured on the bare LAN (first host to second) right after applying, "
                     "before the VPN came up; 'consistent' means every measured figure lies in "
                     "its confidence interval around the model.",
            ))
        if self.lan:
            self.out.metadata.append(MetadataTable(
                "LAN interfaces (per profile, first session)", LAN_COLUMNS,
                tuple(row for _, row in sorted(self.lan.items())),
            ))
        versions = [(f"VPN {vpn}", v) for vpn, v in sorted(self.vpn_versions.items())]
        versions += sorted(self.tool_versions.items())
        if versions:
            self.out.metadata.append(MetadataTable("Versions", ("component", "version"),
                                                   tuple(versions)))


IMPAIRMENT_COLUMNS = ("profile", "vpn", "engine", "per egress", "round trip (derived)",
                      "one-way delay ms (model / measured)", "loss % (model / measured)",
                      "reordered % (model / measured)", "verdict")
LAN_COLUMNS = ("profile", "host", "MTU", "segmentation offloads", "TCP congestion control",
               "TCP tuning")


def _pair(estimate: Any) -> str:
    if estimate is None:
        return ""
    expected = "-" if estimate.expected is None else f"{estimate.expected:.2f}"
    return f"{expected} / {estimate.measured:.2f}"


def impairment_row(vpn: str, record: Any) -> tuple[str, ...]:
    """One line per session's impairment: what was configured and what was measured."""
    egress = record.egress
    settings = "none"
    if egress is not None:
        settings = ", ".join(f"{key}={value}" for key, value in _flatten(
            "", egress.model_dump(mode="json", exclude_none=True, exclude_defaults=True)))
    trip = record.round_trip
    derived = (f"+{trip.added_rtt_mean_ms:.2f} ms RTT, {trip.loss_percent:.3f} % loss"
               if trip is not None else "")
    check = record.checks[0] if record.checks else None
    return (
        record.profile, vpn, record.engine, settings, derived,
        _pair(check.delay_mean_ms) if check else "",
        _pair(check.loss_percent) if check else "",
        _pair(check.reorder_percent) if check else "",
        check.verdict if check else "not checked",
    )


def lan_row(host: str, facts: Any, session: SessionRecord) -> tuple[str, ...]:
    offloads = facts.get("offloads", {}) if isinstance(facts, dict) else {}
    sysctls = facts.get("sysctls", {}) if isinstance(facts, dict) else {}
    segmentation = ", ".join(f"{name}={'on' if on else 'off'}" for name, on in offloads.items()
                             if "segmentation" in name or "receive-offload" in name)
    tuning = ", ".join(f"{k}={v}" for k, v in session.tcp_tuning.get(host, {}).items())
    return (session.profile, host, str(facts.get("mtu", "")) if isinstance(facts, dict) else "",
            segmentation, str(sysctls.get("net.ipv4.tcp_congestion_control", "")),
            tuning or "none")


def _flatten(prefix: str, value: object) -> list[tuple[str, str]]:
    if isinstance(value, dict):
        rows: list[tuple[str, str]] = []
        for key, inner in value.items():
            rows.extend(_flatten(f"{prefix}.{key}" if prefix else str(key), inner))
        return rows
    if isinstance(value, list | tuple):
        return [(prefix, json.dumps(value, default=str))]
    return [(prefix, str(value))]


def metadata_tables(run_id: str, metadata: dict[str, object]) -> list[MetadataTable]:
    """Run metadata as tables: one per nested section, scalars together."""
    scalars = [(k, v) for k, v in metadata.items() if not isinstance(v, dict)]
    tables = []
    if scalars:
        rows = [row for key, value in scalars for row in _flatten(key, value)]
        tables.append(MetadataTable(f"Run {run_id}", ("key", "value"), tuple(rows)))
    for key, value in metadata.items():
        if isinstance(value, dict):
            tables.append(
                MetadataTable(f"{key} (run {run_id})", ("key", "value"),
                              tuple(_flatten("", value)))
            )
    return tables


def load_records(results_dir: Path) -> Dataset:
    run_dirs = find_run_dirs(results_dir)
    if not run_dirs:
        raise AnalysisInputError(
            f"{results_dir}: no run directory found (expected {MANIFEST} in it or in one "
            "of its subdirectories)"
        )
    return RecordsImporter(results_dir, run_dirs).load()
