"""The known_hosts file vpn-bench manages: host keys pinned on first contact (``hosts trust``)
and verified on every connection. Pure text functions, plus the ssh-keyscan/ssh-keygen calls."""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from harness.hosts.local_process import run_command


@dataclass(frozen=True, order=True)
class HostKey:
    key_type: str
    key: str


def host_pattern(address: str, port: int) -> str:
    """How ssh names a host in known_hosts: the bare address on port 22, else [address]:port."""
    return address if port == 22 else f"[{address}]:{port}"


def parse_key_lines(text: str) -> dict[str, set[HostKey]]:
    """known_hosts (or ssh-keyscan) text -> host pattern -> keys. Comments, markers
    (@cert-authority, @revoked) and hashed names are left alone (not vpn-bench's)."""
    keys: dict[str, set[HostKey]] = {}
    for line in text.splitlines():
        fields = line.split()
        if len(fields) < 3 or fields[0].startswith(("#", "@", "|")):
            continue
        for pattern in fields[0].split(","):
            keys.setdefault(pattern, set()).add(HostKey(fields[1], fields[2]))
    return keys


def pinned_keys(known_hosts_text: str, pattern: str) -> set[HostKey]:
    return parse_key_lines(known_hosts_text).get(pattern, set())


def render_pins(pattern: str, keys: set[HostKey]) -> list[str]:
    return [f"{pattern} {key.key_type} {key.key}" for key in sorted(keys)]


def pin(known_hosts_text: str, pattern: str, keys: set[HostKey]) -> str:
    """The file with ``pattern``'s lines replaced by ``keys`` (other lines kept as they are)."""
    kept = [line for line in known_hosts_text.splitlines()
            if not (line.split() and pattern in line.split()[0].split(","))]
    return "\n".join([*kept, *render_pins(pattern, keys)]) + "\n"


def read_known_hosts(path: Path) -> str:
    try:
        return path.read_text()
    except FileNotFoundError:
        return ""


def write_known_hosts(path: Path, text: str) -> None:
    """Atomic replace, mode 0644 (public keys), parent directory created."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "w") as handle:
            handle.write(text)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def scan_keys(address: str, port: int, timeout_s: float) -> tuple[set[HostKey], str]:
    """The keys a host offers now (``ssh-keyscan``) and ssh-keyscan's complaint if none."""
    result = run_command(["ssh-keyscan", "-T", str(max(1, round(timeout_s))), "-p", str(port),
                          "--", address], timeout=timeout_s + 10)
    found = parse_key_lines(result.stdout)
    keys = set().union(*found.values()) if found else set()
    problems = [line for line in result.stderr.splitlines() if not line.startswith("#")]
    return keys, "; ".join(problems).strip() or result.describe()


def fingerprints(pattern: str, keys: set[HostKey]) -> list[str]:
    """``ssh-keygen -lf`` lines (bits, SHA256 fingerprint, type) for ``keys``."""
    text = "\n".join(render_pins(pattern, keys)) + "\n"
    result = run_command(["ssh-keygen", "-l", "-f", "/dev/stdin"], timeout=10, input_text=text)
    if not result.ok:
        raise RuntimeError(f"ssh-keygen could not read the keys of {pattern}: "
                           f"{result.describe()}")
    return [line.strip() for line in result.stdout.splitlines() if line.strip()]
