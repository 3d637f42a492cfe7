"""A run directory given to ``--resume``, validated before anything in it is written.

Everything a damaged or foreign directory can hold is answered here with one
:class:`ResumeError` line: a missing, unreadable, non-UTF-8, truncated or invalid
``manifest.json``, an unknown schema version, fields of a newer harness, a plan outside
the bounds of :mod:`harness.limits` or naming tests, profiles or VPNs this harness does not
have, and record paths that leave the run directory. Reading takes no lock and changes
nothing, so ``--resume --dry-run`` can use it as it is.
"""

from __future__ import annotations

import json
from pathlib import Path, PurePosixPath
from typing import Any

from pydantic import TypeAdapter, ValidationError

from harness import limits
from harness.errors import UsageError
from harness.outdir import inside
from harness.records.models import SCHEMA_VERSION, RunManifest
from harness.records.store import INDEX, MANIFEST, merge_index, read_index
from harness.runner.plan import RunPlan
from harness.workloads.registry import TEST_NAMES

_PLAN = TypeAdapter(RunPlan)


class ResumeError(ValueError):
    """The directory is not a resumable run (the message says why, in one line)."""


def _document(run_dir: Path) -> dict[str, Any]:
    path = run_dir / MANIFEST
    if not run_dir.exists():
        raise ResumeError(f"{run_dir}: no such directory; pass a run directory "
                          "(results/<run-id>) to --resume")
    if not path.is_file():
        raise ResumeError(f"{run_dir} has no {MANIFEST}; pass a run directory "
                          "(results/<run-id>) to --resume")
    try:
        raw = path.read_bytes()
    except OSError as error:
        raise ResumeError(f"{path} cannot be read: {error.strerror or error}") from None
    try:
        text = raw.decode()
    except UnicodeDecodeError as error:
        raise ResumeError(f"{path} is not UTF-8 text (byte {error.start}); it is damaged, "
                          "start a new run") from None
    try:
        document = json.loads(text)
    except ValueError as error:
        raise ResumeError(f"{path} is not valid JSON (truncated or damaged: {error}); "
                          "start a new run") from None
    if not isinstance(document, dict):
        raise ResumeError(f"{path} is not a run manifest (a JSON object); start a new run")
    return document


def read_manifest(run_dir: Path) -> RunManifest:
    """The run's manifest merged with its index, or a ResumeError naming what is wrong."""
    document = _document(run_dir)
    path = run_dir / MANIFEST
    version = document.get("schema_version")
    if version != SCHEMA_VERSION:
        raise ResumeError(f"{run_dir} was written with record schema {version!r}; this "
                          f"harness resumes only schema {SCHEMA_VERSION} runs (start a new run)")
    unknown = sorted(set(document) - set(RunManifest.model_fields))
    if unknown:
        raise ResumeError(f"{path} has fields this harness does not know ({', '.join(unknown)})"
                          "; it was written by a newer vpn-bench: resume it with that version")
    try:
        manifest = RunManifest.model_validate(document)
    except ValidationError as error:
        problem = error.errors()[0]
        where = ".".join(str(part) for part in problem["loc"])
        raise ResumeError(f"{path} is not a valid run manifest ({where}: {problem['msg']}); "
                          "start a new run") from None
    try:
        entries = read_index(run_dir)
    except OSError as error:
        raise ResumeError(f"{run_dir / INDEX} cannot be read: "
                          f"{error.strerror or error}") from None
    merged = merge_index(manifest, entries)
    check_paths(run_dir, merged)
    return merged


def check_paths(run_dir: Path, manifest: RunManifest) -> None:
    """Every record and session the manifest lists lies inside the run directory."""
    for rel in [*manifest.records, *manifest.sessions]:
        pure = PurePosixPath(rel)
        if (pure.is_absolute() or ".." in pure.parts or not pure.parts
                or not inside(run_dir / rel, run_dir)):
            raise ResumeError(f"{run_dir} lists {rel!r} in its {MANIFEST} or {INDEX}, which "
                              "is outside the run directory; it is damaged, start a new run")


def plan_problem(plan: RunPlan) -> str | None:
    """Why a plan read from a manifest cannot be run by this harness (None: it can)."""
    try:
        limits.repetitions(plan.repetitions, "repetitions")
        limits.hosts(len(plan.hosts), "the number of hosts")
        limits.seed(plan.seed, "seed")
        for test, policy in plan.policies.items():
            limits.bounded_float(policy.timeout_s, f"[test.{test}] timeout",
                                 limits.MAX_TEST_TIMEOUT_S)
            limits.links_per_test(policy.links, f"[test.{test}] links")
    except UsageError as error:
        return str(error)
    if not plan.vpns:
        return "it names no VPN"
    named_tests = {*plan.tests, *(t for ts in plan.vpn_tests.values() for t in ts),
                   *(t for ts in plan.profile_tests.values() for t in ts)}
    unknown_tests = sorted(named_tests - set(TEST_NAMES))
    if unknown_tests:
        return f"unknown test(s) {', '.join(unknown_tests)}; valid: {', '.join(TEST_NAMES)}"
    named_profiles = {*plan.profiles, *(p for ps in plan.vpn_profiles.values() for p in ps)}
    undefined = sorted(named_profiles - set(plan.profile_definitions))
    if undefined:
        return f"profile(s) {', '.join(undefined)} without a definition"
    if not plan.sessions():
        return "it has nothing to measure (no test under any profile)"
    return None


def read_plan(run_dir: Path, manifest: RunManifest) -> RunPlan:
    """The plan the manifest holds, validated (types through the models, bounds here)."""
    if not manifest.plan:
        raise ResumeError(f"{run_dir / MANIFEST} holds no plan; it cannot be resumed")
    try:
        plan = _PLAN.validate_python(manifest.plan)
    except ValidationError as error:
        raise ResumeError(f"{run_dir / MANIFEST}: its plan is not valid for this harness "
                          f"({error.errors()[0]['msg']})") from None
    problem = plan_problem(plan)
    if problem:
        raise ResumeError(f"{run_dir / MANIFEST}: its plan cannot be resumed: {problem}")
    return plan
