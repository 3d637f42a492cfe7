"""Every .nix file of the repository parses (what CI can check without nixpkgs)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.nix.nixeval import REPO, nix_parse

SKIPPED_DIRS = {".git", ".venv", "node_modules", "build", "result", ".mypy_cache", ".ruff_cache"}


def nix_files() -> list[Path]:
    found = []
    for path in REPO.rglob("*.nix"):
        parts = set(path.relative_to(REPO).parts)
        if parts & SKIPPED_DIRS or any(p.startswith("result-") for p in parts):
            continue
        found.append(path)
    return sorted(found)


def test_the_flake_and_its_modules_are_found() -> None:
    relative = {str(p.relative_to(REPO)) for p in nix_files()}
    for expected in ("flake.nix", "modules/lib/default.nix", "modules/common.nix",
                     "modules/vpns/wireguard.nix", "nix/tests/vpn.nix"):
        assert expected in relative


@pytest.mark.parametrize("path", nix_files(), ids=lambda p: str(p.relative_to(REPO)))
def test_nix_file_parses(path: Path) -> None:
    nix_parse(path)
