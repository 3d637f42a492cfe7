"""The programs the generators call, where a user gets them, and how they are run."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterable, Sequence
from pathlib import Path

from harness.vpns.base import BinaryRequirement

#: Seconds any one tool call may take (RSA generation is the slowest, well under this).
TOOL_TIMEOUT_S = 120.0

WG = BinaryRequirement("wg", nix="wireguard-tools", debian="wireguard-tools")
NEBULA_CERT = BinaryRequirement("nebula-cert", nix="nebula", debian="nebula")
TINCD = BinaryRequirement("tincd", nix="tinc", debian="tinc")
VPNCLOUD = BinaryRequirement(
    "vpncloud", nix="vpncloud",
    build_hint="or `scripts/build-vpns.sh --only vpncloud`, then put "
               "/opt/vpn-bench/bin on PATH")
OPENSSL = BinaryRequirement("openssl", nix="openssl", debian="openssl")
YGGDRASIL = BinaryRequirement("yggdrasil", nix="yggdrasil", debian="yggdrasil")


class KeyMaterialError(RuntimeError):
    """A tool failed or the output could not be placed; the message says which and why."""


def missing(requirements: Iterable[BinaryRequirement]) -> list[BinaryRequirement]:
    """Requirements whose program is not on PATH, each once, in the given order."""
    seen: dict[str, BinaryRequirement] = {}
    for requirement in requirements:
        if shutil.which(requirement.binary) is None:
            seen.setdefault(requirement.binary, requirement)
    return list(seen.values())


def _first_error_lines(stderr: str) -> str:
    """The message part of a tool's stderr, without the usage text some tools append."""
    lines = []
    for line in stderr.strip().splitlines():
        if line.startswith("Usage"):
            break
        lines.append(line)
    return " ".join(" ".join(lines).split()) or "(no message)"


def run_bytes(argv: Sequence[str], *, stdin: bytes = b"", cwd: Path | None = None) -> bytes:
    """Run a tool to completion and return its stdout; any failure is a KeyMaterialError."""
    try:
        result = subprocess.run(list(argv), input=stdin, cwd=cwd, capture_output=True,
                                timeout=TOOL_TIMEOUT_S, check=False)
    except FileNotFoundError:
        raise KeyMaterialError(f"{argv[0]} not found on PATH") from None
    except subprocess.TimeoutExpired:
        raise KeyMaterialError(
            f"`{' '.join(argv)}` did not finish within {TOOL_TIMEOUT_S:.0f} s") from None
    if result.returncode != 0:
        message = _first_error_lines(result.stderr.decode(errors="replace"))
        raise KeyMaterialError(f"`{' '.join(argv)}` failed (exit {result.returncode}): {message}")
    return result.stdout


def run_text(argv: Sequence[str], *, stdin: str = "", cwd: Path | None = None) -> str:
    return run_bytes(argv, stdin=stdin.encode(), cwd=cwd).decode()
