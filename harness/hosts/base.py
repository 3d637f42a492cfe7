"""What benchmarks and VPN adapters may do with a machine.

Modelled on the NixOS test driver's Machine: run a command and get its output, start a
supervised long-running process, move small files. Adapters and workloads talk only to
this interface, so every backend (namespaces here, SSH or VM drivers elsewhere) reuses them.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import PurePosixPath


@dataclass(frozen=True)
class CommandResult:
    """Outcome of a finished (or timed-out) command."""

    argv: tuple[str, ...]
    returncode: int
    stdout: str
    stderr: str
    duration_s: float
    timed_out: bool = False

    @property
    def ok(self) -> bool:
        return self.returncode == 0 and not self.timed_out

    def describe(self) -> str:
        """One-paragraph account of a failure, for error messages and records."""
        what = "timed out" if self.timed_out else f"exited with {self.returncode}"
        detail = (self.stderr.strip() or self.stdout.strip())[-2000:]
        return f"`{' '.join(self.argv)}` {what}" + (f": {detail}" if detail else "")


class CommandFailed(RuntimeError):
    def __init__(self, host: str, result: CommandResult) -> None:
        super().__init__(f"on {host}: {result.describe()}")
        self.host = host
        self.result = result


class Process(ABC):
    """A supervised background process: PID known, output captured to a log."""

    name: str

    @property
    @abstractmethod
    def pid(self) -> int: ...

    @abstractmethod
    def is_running(self) -> bool: ...

    @abstractmethod
    def returncode(self) -> int | None:
        """Exit status once the process has ended, else None."""

    @abstractmethod
    def wait(self, timeout: float) -> int | None:
        """Wait up to ``timeout`` seconds; the exit status, or None if still running."""

    @abstractmethod
    def stop(self, timeout: float = 5.0) -> int | None:
        """SIGTERM, then SIGKILL after ``timeout``; returns the exit status."""

    @abstractmethod
    def signal(self, signum: int) -> None: ...

    @abstractmethod
    def log_tail(self, lines: int = 40) -> str: ...

    @abstractmethod
    def output(self) -> str:
        """Everything the process has written so far (stdout and stderr)."""


class Host(ABC):
    """One machine of the testbed."""

    name: str
    #: Directory owned by the harness on this host for keys, configs and logs.
    state_dir: PurePosixPath

    @abstractmethod
    def run(
        self,
        argv: Sequence[str],
        *,
        timeout: float,
        input_text: str | None = None,
        env: Mapping[str, str] | None = None,
    ) -> CommandResult:
        """Run a command to completion (killed after ``timeout`` seconds)."""

    def succeed(
        self,
        argv: Sequence[str],
        *,
        timeout: float = 30.0,
        input_text: str | None = None,
        env: Mapping[str, str] | None = None,
    ) -> str:
        """Run a command that must succeed; returns its stdout."""
        result = self.run(argv, timeout=timeout, input_text=input_text, env=env)
        if not result.ok:
            raise CommandFailed(self.name, result)
        return result.stdout

    @abstractmethod
    def start(
        self,
        argv: Sequence[str],
        *,
        name: str,
        env: Mapping[str, str] | None = None,
    ) -> Process:
        """Start a foreground daemon under supervision; it is stopped at teardown."""

    @abstractmethod
    def write_file(self, path: PurePosixPath, content: str | bytes, mode: int = 0o600) -> None:
        """Create or replace a file (parents created)."""

    @abstractmethod
    def read_file(self, path: PurePosixPath) -> bytes:
        """Contents of a file on the host (also /proc files, for monitoring)."""

    @abstractmethod
    def make_dir(self, path: PurePosixPath, mode: int = 0o700) -> None: ...

    @abstractmethod
    def processes(self) -> list[Process]:
        """Processes started on this host that are still supervised."""

    def stop_processes(self, timeout: float = 5.0) -> None:
        """Stop every supervised process, newest first."""
        for process in reversed(self.processes()):
            process.stop(timeout)
