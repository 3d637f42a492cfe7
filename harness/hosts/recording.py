"""A Host that runs nothing and records every command, for dry runs that print the exact
command sequence the real code path would send (`run --nixos --dry-run`).

Every command "succeeds"; its stdout comes from ``reply`` (empty by default), so callers
that read output get a placeholder instead of a real value. The shared ``log`` keeps the
order across hosts.
"""

from __future__ import annotations

import shlex
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import PurePosixPath

from harness.hosts.base import CommandResult, Host, Process

DEFAULT_STATE_DIR = PurePosixPath("/var/lib/vpn-bench")
#: (host name, argv) -> stdout of the pretended command.
Reply = Callable[[str, Sequence[str]], str]


@dataclass
class CommandLog:
    entries: list[tuple[str, tuple[str, ...]]] = field(default_factory=list)

    def lines(self) -> list[str]:
        return [f"{host}$ {shlex.join(argv)}" for host, argv in self.entries]


class RecordingHost(Host):
    """Records ``run``; ``start`` is refused (a dry run starts no daemon)."""

    def __init__(self, name: str, log: CommandLog, *,
                 state_dir: PurePosixPath = DEFAULT_STATE_DIR,
                 reply: Reply | None = None) -> None:
        self.name = name
        self.log = log
        self.state_dir = state_dir
        self.reply = reply or (lambda host, argv: "")

    def run(
        self,
        argv: Sequence[str],
        *,
        timeout: float,
        input_text: str | None = None,
        env: Mapping[str, str] | None = None,
    ) -> CommandResult:
        words = tuple([*(["env", *(f"{k}={v}" for k, v in env.items())] if env else []),
                       *argv])
        self.log.entries.append((self.name, words))
        return CommandResult(tuple(argv), 0, self.reply(self.name, argv), "", 0.0)

    def write_file(self, path: PurePosixPath, content: str | bytes, mode: int = 0o600) -> None:
        """Recorded as one line (the real one pipes base64 through sh)."""
        self.log.entries.append((self.name, ("write", f"{mode:o}", str(path))))

    def read_file(self, path: PurePosixPath) -> bytes:
        self.log.entries.append((self.name, ("cat", "--", str(path))))
        text = self.reply(self.name, ["cat", "--", str(path)])
        return text.encode()

    def start(
        self,
        argv: Sequence[str],
        *,
        name: str,
        env: Mapping[str, str] | None = None,
    ) -> Process:
        raise RuntimeError(f"{self.name}: a dry run starts no process ({name})")

    def processes(self) -> list[Process]:
        return []
