"""Fixtures for the analysis tests: the shared legacy data and one full legacy analysis."""

from __future__ import annotations

from pathlib import Path

import pytest

from analysis.cli import run_analysis

REPO = Path(__file__).resolve().parents[2]
LEGACY_ROOT = REPO.parent / "shared" / "data" / "legacy-vpn-bench" / "18.12.2025"


@pytest.fixture(scope="session")
def legacy_root() -> Path:
    if not LEGACY_ROOT.is_dir():
        pytest.skip(f"legacy data not available at {LEGACY_ROOT}")
    return LEGACY_ROOT


@pytest.fixture(scope="session")
def legacy_output(legacy_root: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The whole analysis of the legacy data, run once per session (it takes ~30 s)."""
    return run_analysis(legacy_root, tmp_path_factory.mktemp("legacy-analysis"), "legacy")
