"""Choose the importer for a results directory: our records or the legacy layout."""

from __future__ import annotations

from pathlib import Path

from analysis.dataset import Dataset
from analysis.errors import AnalysisInputError, utf8_name
from analysis.formats import FORMATS, validate_format
from analysis.importers.legacy import load_legacy, looks_like_legacy
from analysis.importers.records import find_run_dirs, load_records

__all__ = ["FORMATS", "detect_format", "load_dataset", "validate_format"]


def detect_format(results_dir: Path) -> str:
    """``records`` or ``legacy``; raises if the directory holds neither or both."""
    has_records = bool(find_run_dirs(results_dir))
    has_legacy = looks_like_legacy(results_dir)
    if has_records and has_legacy:
        raise AnalysisInputError(
            f"{results_dir}: holds both run records (manifest.json) and the legacy layout; "
            "pass --format records or --format legacy"
        )
    if has_records:
        return "records"
    if has_legacy:
        return "legacy"
    raise AnalysisInputError(
        f"{results_dir}: no benchmark results found. Expected a run directory with "
        "manifest.json (or directories containing one), or the legacy layout "
        "<VPN>/<profile>/<i>_<host>/*.json"
    )


def load_dataset(results_dir: Path, input_format: str = "auto") -> Dataset:
    """Read ``results_dir`` in the given or detected format; never writes anything."""
    validate_format(input_format)
    utf8_name(results_dir.absolute())
    if not results_dir.exists():
        raise AnalysisInputError(f"{results_dir}: no such directory")
    if not results_dir.is_dir():
        raise AnalysisInputError(f"{results_dir}: not a directory")
    chosen = detect_format(results_dir) if input_format == "auto" else input_format
    if chosen == "legacy":
        if not looks_like_legacy(results_dir):
            raise AnalysisInputError(
                f"{results_dir}: not a legacy result layout (no <VPN>/<profile>/ directories "
                "with <i>_<host>/ result directories, tc_settings.json or "
                "parallel_tcp_iperf3.json)"
            )
        dataset = load_legacy(results_dir)
    else:
        dataset = load_records(results_dir)
    if dataset.outcomes.is_empty() and dataset.observations.is_empty():
        raise AnalysisInputError(f"{results_dir}: contains no test results ({chosen} format)")
    return dataset
