"""Key material as files in memory, and running a key tool on a Host.

One VPN module generates its keys with these, for both users of the keys: its adapter's
deploy (tools run on the testbed host that will use the keys) and ``vpn-bench keys``
(tools run on :class:`~harness.hosts.local.LocalMachine` in a scratch directory; the
files then land in the layout of docs/secrets.md, see :mod:`harness.keys.writer`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import PurePosixPath

from harness.hosts.base import Host
from harness.settings.models import VpnSettings
from harness.vpns.base import BinaryRequirement, VpnError

#: Seconds any one tool call may take (RSA generation is the slowest, well under this).
TOOL_TIMEOUT_S = 120.0

OPENSSL = BinaryRequirement("openssl", nix="openssl", debian="openssl",
                            version_args=("version",))


class KeyMaterialError(VpnError):
    """A tool failed or the output could not be placed; the message says which and why."""


@dataclass(frozen=True)
class PublicFile:
    """Goes to ``public/<vpn>/<name>``: copied into the site, may be committed."""

    vpn: str
    name: str
    text: str

    @property
    def relative_path(self) -> PurePosixPath:
        return PurePosixPath("public", self.vpn, self.name)


@dataclass(frozen=True)
class PrivateFile:
    """Goes to ``secrets/<host>/<vpn>/<name>``: copied to that host only, never committed."""

    host: str
    vpn: str
    name: str
    text: str

    @property
    def relative_path(self) -> PurePosixPath:
        return PurePosixPath("secrets", self.host, self.vpn, self.name)


KeyFile = PublicFile | PrivateFile


@dataclass(frozen=True)
class KeyRequest:
    """What a generator needs: the site's hosts in ring order, the VPN's settings, and the
    machine that runs the tools with a scratch directory on it (0700, removed afterwards)."""

    hosts: tuple[str, ...]
    settings: VpnSettings
    machine: Host
    workdir: PurePosixPath


@dataclass(frozen=True)
class KeyGeneration:
    """How ``vpn-bench keys`` makes a VPN's site material: the tools and the generator."""

    tools: tuple[BinaryRequirement, ...]
    generate: Callable[[KeyRequest], list[KeyFile]]


def file_text(value: str) -> str:
    """One value per file with exactly one trailing newline (docs/secrets.md)."""
    return value.rstrip("\n") + "\n"


def _first_error_lines(stderr: str) -> str:
    """The message part of a tool's stderr, without the usage text some tools append."""
    lines = []
    for line in stderr.strip().splitlines():
        if line.startswith("Usage"):
            break
        lines.append(line)
    return " ".join(" ".join(lines).split()) or "(no message)"


def run_tool(host: Host, argv: Sequence[str], *, stdin: str | None = None) -> str:
    """Run a key tool to completion on ``host``; its stdout, or a KeyMaterialError."""
    try:
        result = host.run(list(argv), timeout=TOOL_TIMEOUT_S, input_text=stdin)
    except FileNotFoundError:
        raise KeyMaterialError(f"{argv[0]} not found on PATH of {host.name}") from None
    if result.timed_out:
        raise KeyMaterialError(
            f"`{' '.join(argv)}` did not finish within {TOOL_TIMEOUT_S:.0f} s")
    if result.returncode != 0:
        raise KeyMaterialError(f"`{' '.join(argv)}` failed (exit {result.returncode}): "
                               f"{_first_error_lines(result.stderr)}")
    return result.stdout
