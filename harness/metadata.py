"""Facts about the machine and software a run was measured with."""

from __future__ import annotations

import hashlib
import os
import platform
import shutil
import subprocess
import sys
from pathlib import Path

from harness import __version__


def first_line(argv: list[str]) -> str | None:
    if shutil.which(argv[0]) is None:
        return None
    try:
        result = subprocess.run(argv, capture_output=True, text=True, timeout=10, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    text = (result.stdout or result.stderr).strip()
    return text.splitlines()[0] if text else None


def tool_versions() -> dict[str, str]:
    """Versions the measuring tools report about themselves."""
    probes = {
        "iperf3": ["iperf3", "--version"],
        "ping": ["ping", "-V"],
        "ip": ["ip", "-V"],
    }
    return {name: line for name, argv in probes.items() if (line := first_line(argv))}


def _os_release() -> str | None:
    try:
        for line in Path("/etc/os-release").read_text().splitlines():
            if line.startswith("PRETTY_NAME="):
                return line.split("=", 1)[1].strip('"')
    except FileNotFoundError:
        pass
    return None


def _cpu() -> dict[str, object]:
    model, flags = None, set[str]()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            key, _, value = line.partition(":")
            if key.strip() == "model name" and model is None:
                model = value.strip()
            elif key.strip() == "flags" and not flags:
                flags = set(value.split())
    except FileNotFoundError:
        pass
    return {
        "model": model,
        "cores": os.cpu_count(),
        "aes_ni": "aes" in flags,
        "flags": sorted(flag for flag in flags
                        if flag in {"aes", "avx", "avx2", "avx512f", "pclmulqdq", "sha_ni"}),
    }


def _memory_bytes() -> int | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) * 1024
    except FileNotFoundError:
        pass
    return None


def _git(source_dir: Path) -> dict[str, object]:
    if shutil.which("git") is None or not (source_dir / ".git").exists():
        return {}
    commit = first_line(["git", "-C", str(source_dir), "rev-parse", "HEAD"])
    status = subprocess.run(["git", "-C", str(source_dir), "status", "--porcelain"],
                            capture_output=True, text=True, check=False, timeout=10)
    return {"commit": commit, "dirty": bool(status.stdout.strip())}


def _sysctls() -> dict[str, str]:
    names = ["net.ipv4.tcp_congestion_control", "net.core.default_qdisc",
             "net.ipv4.tcp_reordering", "net.ipv4.tcp_recovery", "net.ipv4.tcp_early_retrans",
             "net.ipv4.tcp_rmem", "net.ipv4.tcp_wmem"]
    values: dict[str, str] = {}
    for name in names:
        path = Path("/proc/sys") / name.replace(".", "/")
        if path.exists():
            values[name] = " ".join(path.read_text().split())
    return values


def _flake_lock(source_dir: Path) -> dict[str, str] | None:
    """Hash of the flake.lock the harness was built from (the Nix wrapper may pass it)."""
    explicit = os.environ.get("VPN_BENCH_FLAKE_LOCK_SHA256")
    if explicit:
        return {"sha256": explicit, "source": "VPN_BENCH_FLAKE_LOCK_SHA256"}
    lock = source_dir / "flake.lock"
    if lock.is_file():
        return {"sha256": hashlib.sha256(lock.read_bytes()).hexdigest(), "source": str(lock)}
    return None


def machine_metadata() -> dict[str, object]:
    source_dir = Path(__file__).resolve().parents[1]
    return {
        "command_line": sys.argv,
        "flake_lock": _flake_lock(source_dir),
        "harness_version": __version__,
        "python": sys.version.split()[0],
        "kernel": platform.release(),
        "distribution": _os_release(),
        "cpu": _cpu(),
        "memory_bytes": _memory_bytes(),
        "sysctls": _sysctls(),
        "git": _git(source_dir),
        "tools": tool_versions(),
    }
