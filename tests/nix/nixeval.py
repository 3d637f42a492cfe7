"""Run pure Nix evaluations (no nixpkgs, no store writes) from the tests.

Why: the Nix modules read vpn-configs/ and the site through modules/lib, a builtins-only
library, so CI can evaluate it with Debian's nix-instantiate and compare it with Python.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
LIB = REPO / "modules" / "lib"
NIX_INSTANTIATE = shutil.which("nix-instantiate")
TIMEOUT_S = 120


class NixError(RuntimeError):
    """nix-instantiate failed; the message carries its stderr."""


def require_nix() -> str:
    if NIX_INSTANTIATE is None:
        pytest.skip("nix-instantiate not installed (Debian package nix-bin)")
    return NIX_INSTANTIATE


def _run(args: list[str]) -> str:
    binary = require_nix()
    result = subprocess.run(
        [binary, "--store", "dummy://", *args],
        capture_output=True,
        text=True,
        timeout=TIMEOUT_S,
        check=False,
    )
    if result.returncode != 0:
        raise NixError(result.stderr.strip())
    return result.stdout


def nix_eval(expression: str) -> Any:
    """Strictly evaluate ``expression`` and return it as JSON data."""
    return json.loads(_run(["--eval", "--strict", "--json", "-E", expression]))


def nix_parse(path: Path) -> None:
    _run(["--parse", str(path)])


def nix_string(value: str | Path) -> str:
    """A Nix string literal (JSON string syntax is a subset of Nix's)."""
    return json.dumps(str(value)).replace("${", "\\${")


def nix_path(path: Path) -> str:
    """A Nix path literal for an absolute path (no spaces allowed in Nix path literals)."""
    resolved = str(path.resolve())
    if " " in resolved:
        pytest.skip(f"{resolved} contains a space; Nix path literals cannot")
    return resolved


def lib_expr() -> str:
    return f"(import {nix_path(LIB)})"
