"""Facts about the machine and software a run was measured with.

Machine facts (kernel, distribution, CPU, memory, sysctls, tool versions) are asked of a
Host, so a remote backend reports its own machines; harness facts (command line, version,
git commit, flake.lock) describe the program running here.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path, PurePosixPath

from harness import __version__
from harness.hosts.base import CommandFailed, Host

#: argv that prints each measuring tool's version.
TOOL_VERSION_ARGV = {
    "iperf3": ("iperf3", "--version"),
    "ping": ("ping", "-V"),
    "ip": ("ip", "-V"),
}
SYSCTLS = ("net.ipv4.tcp_congestion_control", "net.core.default_qdisc",
           "net.ipv4.tcp_reordering", "net.ipv4.tcp_recovery", "net.ipv4.tcp_early_retrans",
           "net.ipv4.tcp_rmem", "net.ipv4.tcp_wmem")
RECORDED_CPU_FLAGS = {"aes", "avx", "avx2", "avx512f", "pclmulqdq", "sha_ni"}


def tool_versions(host: Host) -> dict[str, str]:
    """Versions the measuring tools on ``host`` report about themselves."""
    return {name: line for name, argv in TOOL_VERSION_ARGV.items()
            if (line := host.version_line(argv))}


def parse_os_release(text: str) -> str | None:
    for line in text.splitlines():
        if line.startswith("PRETTY_NAME="):
            return line.split("=", 1)[1].strip('"')
    return None


def parse_cpuinfo(text: str) -> dict[str, object]:
    model, flags, cores = None, set[str](), 0
    for line in text.splitlines():
        key, _, value = line.partition(":")
        key = key.strip()
        if key == "processor":
            cores += 1
        elif key == "model name" and model is None:
            model = value.strip()
        elif key == "flags" and not flags:
            flags = set(value.split())
    return {
        "model": model,
        "cores": cores or None,
        "aes_ni": "aes" in flags,
        "flags": sorted(flag for flag in flags if flag in RECORDED_CPU_FLAGS),
    }


def parse_meminfo(text: str) -> int | None:
    for line in text.splitlines():
        if line.startswith("MemTotal:"):
            return int(line.split()[1]) * 1024
    return None


def _read(host: Host, path: str) -> str | None:
    try:
        return host.read_text(PurePosixPath(path))
    except (OSError, CommandFailed):
        return None


def _sysctls(host: Host) -> dict[str, str]:
    values: dict[str, str] = {}
    for name in SYSCTLS:
        text = _read(host, "/proc/sys/" + name.replace(".", "/"))
        if text is not None:
            values[name] = " ".join(text.split())
    return values


def host_metadata(host: Host) -> dict[str, object]:
    """What the measurements on ``host`` depend on."""
    kernel = _read(host, "/proc/sys/kernel/osrelease")
    meminfo = _read(host, "/proc/meminfo")
    return {
        "kernel": kernel.strip() if kernel else None,
        "distribution": parse_os_release(_read(host, "/etc/os-release") or ""),
        "cpu": parse_cpuinfo(_read(host, "/proc/cpuinfo") or ""),
        "memory_bytes": parse_meminfo(meminfo) if meminfo else None,
        "sysctls": _sysctls(host),
        "tools": tool_versions(host),
    }


def _git(source_dir: Path) -> dict[str, object]:
    if shutil.which("git") is None or not (source_dir / ".git").exists():
        return {}

    def git(*args: str) -> str:
        return subprocess.run(["git", "-C", str(source_dir), *args], capture_output=True,
                              text=True, check=False, timeout=10).stdout
    return {"commit": git("rev-parse", "HEAD").strip() or None,
            "dirty": bool(git("status", "--porcelain").strip())}


def _flake_lock(source_dir: Path) -> dict[str, str] | None:
    """Hash of the flake.lock the harness was built from (the Nix wrapper may pass it)."""
    explicit = os.environ.get("VPN_BENCH_FLAKE_LOCK_SHA256")
    if explicit:
        return {"sha256": explicit, "source": "VPN_BENCH_FLAKE_LOCK_SHA256"}
    lock = source_dir / "flake.lock"
    if lock.is_file():
        return {"sha256": hashlib.sha256(lock.read_bytes()).hexdigest(), "source": str(lock)}
    return None


def harness_metadata() -> dict[str, object]:
    """The program that ran the measurements (this process, on the controlling machine)."""
    source_dir = Path(__file__).resolve().parents[1]
    return {
        "command_line": sys.argv,
        "flake_lock": _flake_lock(source_dir),
        "harness_version": __version__,
        "python": sys.version.split()[0],
        "git": _git(source_dir),
    }


def machine_metadata(host: Host) -> dict[str, object]:
    """The manifest's metadata: the harness, and the machine ``host`` runs on."""
    return {**harness_metadata(), **host_metadata(host)}
