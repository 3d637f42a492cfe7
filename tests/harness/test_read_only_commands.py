"""Read-only commands touch nothing: `list` and `run --dry-run` start no process at all (not
even to probe the kernel), and none of them creates a namespace or opens a socket. Checked
with strace on the real command, with wireguard-go hidden from PATH (the case that used to
probe the kernel for WireGuard in a scratch namespace: now the plan says WireGuard needs
wireguard-go or the kernel module, tried at run time)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
STRACE = shutil.which("strace")
pytestmark = pytest.mark.skipif(STRACE is None, reason="strace is not installed")
HIDDEN = {"wireguard-go"}


def _path_without_hidden(tmp_path: Path) -> str:
    """A PATH with every program of the real PATH except those in HIDDEN."""
    shim = tmp_path / "bin"
    shim.mkdir()
    for directory in os.environ.get("PATH", "").split(os.pathsep):
        if not os.path.isdir(directory):
            continue
        for entry in os.scandir(directory):
            target = shim / entry.name
            if entry.name not in HIDDEN and not target.exists():
                target.symlink_to(entry.path)
    return str(shim)


def _trace(tmp_path: Path, *args: str) -> tuple[subprocess.CompletedProcess[str], list[str]]:
    log = tmp_path / "strace.log"
    env = {**os.environ, "PATH": _path_without_hidden(tmp_path)}
    assert STRACE is not None
    result = subprocess.run(
        [STRACE, "-f", "-qq", "-e", "trace=execve,unshare,setns,socket", "-o", str(log),
         sys.executable, "-m", "harness", *args],
        capture_output=True, text=True, cwd=REPO, env=env, timeout=300)
    calls = [line for line in log.read_text().splitlines()
             if re.match(r"^\d+\s+(execve|unshare|setns|socket)\(", line)
             and "ENOENT" not in line]
    return result, calls


def _kinds(calls: list[str], kind: str) -> list[str]:
    return [call for call in calls if re.match(rf"^\d+\s+{kind}\(", call)]


@pytest.mark.parametrize("args", [
    ("list",),
    ("run", "--dry-run"),
    ("run", "--dry-run", "--vpn", "internal,nebula", "--profile", "all"),
])
def test_starts_no_process_and_creates_no_namespace(tmp_path: Path,
                                                    args: tuple[str, ...]) -> None:
    result, calls = _trace(tmp_path, *args)
    assert result.returncode == 0, result.stderr
    assert len(_kinds(calls, "execve")) == 1, calls  # the Python interpreter itself
    assert _kinds(calls, "unshare") == [] and _kinds(calls, "setns") == []
    assert _kinds(calls, "socket") == []


def test_keys_creates_no_namespace_and_opens_no_socket(tmp_path: Path) -> None:
    if shutil.which("wg") is None:
        pytest.skip("wg is not installed")
    result, calls = _trace(tmp_path, "keys", "--vpn", "wireguard", "--out",
                           str(tmp_path / "site"))
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "site").is_dir()
    assert _kinds(calls, "unshare") == [] and _kinds(calls, "setns") == []
    assert _kinds(calls, "socket") == []


def test_analysis_creates_no_namespace_and_opens_no_socket(tmp_path: Path) -> None:
    """The analysis reads records and writes its output directory; nothing else."""
    from tests.analysis import record_factory as rf

    records = [rf.tcp(vpn, link, mbps) for vpn, mbps in (("internal", 900), ("wireguard", 700))
               for link in rf.RING]
    run_dir = rf.write_run(tmp_path / "results" / "run1", records)
    out = tmp_path / "analysis"
    result, calls = _trace(tmp_path, "analysis", str(run_dir), "--out", str(out))
    assert result.returncode == 0, result.stderr
    assert (out / "metrics.csv").is_file()
    assert _kinds(calls, "unshare") == [] and _kinds(calls, "setns") == []
    assert _kinds(calls, "socket") == []
