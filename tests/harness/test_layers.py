"""The package layers of docs/architecture.md, checked on the import statements: no package
imports from a package above it, so there are no cycles. A new package must be ranked here."""

from __future__ import annotations

import ast
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

#: Lower rank = lower layer. A package may import only packages of a lower or equal rank
#: (equal only for itself).
RANKS: dict[str, int] = {
    "harness.errors": 0, "harness.waiting": 0, "harness.topology": 0, "harness.netem": 0,
    "harness.settings": 1, "harness.hosts": 1, "harness.records": 1,
    "harness.limits": 1, "harness.outdir": 1,
    "harness.parsing": 2,
    "harness.testbed": 3,
    "harness.monitoring": 3, "harness.impairment": 4, "harness.vpns": 4,
    "harness.workloads": 4,
    "harness.metadata": 5, "harness.keys": 5,
    "harness.runner": 6,
    "analysis": 7,
    "harness.cli": 8,
}
#: The root package (`harness/__init__.py`: only the version) is importable from anywhere.
ROOT = "harness"


def _package_of(path: Path) -> str | None:
    parts = path.relative_to(REPO).with_suffix("").parts
    if parts[0] == "analysis":
        return "analysis"
    if parts[-1] in {"__init__", "__main__"} and len(parts) == 2:
        return None  # the root package and the `python -m harness` entry point
    return ".".join(parts[:2])


def _imported_packages(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        names: list[str] = []
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
        elif isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        for name in names:
            parts = name.split(".")
            if parts[0] == "analysis":
                found.add("analysis")
            elif parts[0] == "harness" and len(parts) > 1:
                candidate = ".".join(parts[:2])
                if candidate in RANKS:
                    found.add(candidate)
    return found


def _sources() -> list[Path]:
    return sorted([*REPO.joinpath("harness").rglob("*.py"),
                   *REPO.joinpath("analysis").rglob("*.py")])


def test_every_package_is_ranked() -> None:
    packages = {package for path in _sources() if (package := _package_of(path))}
    assert packages - RANKS.keys() == set(), "rank the new package in RANKS"


def test_no_package_imports_from_a_higher_layer() -> None:
    violations = []
    for path in _sources():
        package = _package_of(path)
        if package is None:
            continue
        for imported in _imported_packages(path):
            if imported != package and RANKS[imported] >= RANKS[package]:
                violations.append(f"{path.relative_to(REPO)} ({package}, rank {RANKS[package]})"
                                  f" imports {imported} (rank {RANKS[imported]})")
    assert violations == []
