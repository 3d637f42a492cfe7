"""What benchmarks and VPN adapters may do with a machine.

Modelled on the NixOS test driver's Machine: run a command and get its output, start a
supervised long-running process, move small files. Adapters and workloads talk only to
this interface, so every backend (namespaces here, SSH or VM drivers elsewhere) reuses them.
"""

from __future__ import annotations

import base64
import shlex
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

    # -- files: defaults built on run(); a backend may override them with faster ones --------
    def write_file(self, path: PurePosixPath, content: str | bytes, mode: int = 0o600) -> None:
        """Create or replace a file (parents created), atomically and with ``mode``."""
        data = content.encode() if isinstance(content, str) else content
        target = shlex.quote(str(path))
        script = (f"umask 077 && mkdir -p {shlex.quote(str(path.parent))} && "
                  f"tmp=$(mktemp {target}.XXXXXX) && base64 -d > \"$tmp\" && "
                  f"chmod {mode:o} \"$tmp\" && mv -f \"$tmp\" {target}")
        self.succeed(["sh", "-c", script], input_text=base64.b64encode(data).decode())

    def read_file(self, path: PurePosixPath) -> bytes:
        """Contents of a file on the host (also /proc files, for monitoring)."""
        return base64.b64decode(self.succeed(["base64", "-w0", "--", str(path)]))

    def read_text(self, path: PurePosixPath) -> str:
        return self.read_file(path).decode(errors="replace")

    def make_dir(self, path: PurePosixPath, mode: int = 0o700) -> None:
        self.succeed(["mkdir", "-p", "-m", f"{mode:o}", "--", str(path)])

    def exists(self, path: PurePosixPath) -> bool:
        return self.run(["test", "-e", str(path)], timeout=10).ok

    def remove(self, path: PurePosixPath) -> None:
        """Remove a file or directory tree below this host's state directory."""
        if not PurePosixPath(path).is_relative_to(self.state_dir):
            raise ValueError(f"{self.name}: refusing to remove {path}: outside {self.state_dir}")
        self.succeed(["rm", "-rf", "--", str(path)])

    # -- programs ------------------------------------------------------------------------
    def which(self, binary: str) -> str | None:
        """Absolute path of ``binary`` on this host's PATH, or None."""
        result = self.run(["sh", "-c", 'command -v -- "$1"', "sh", binary], timeout=10)
        path = result.stdout.strip()
        return path if result.ok and path.startswith("/") else None

    def version_line(self, argv: Sequence[str]) -> str | None:
        """First line a program prints about its version (stdout, else stderr), or None."""
        if self.which(argv[0]) is None:
            return None
        result = self.run(list(argv), timeout=10)
        text = (result.stdout or result.stderr).strip()
        return text.splitlines()[0] if text else None

    # -- kernel capabilities, found by trying on this host (cached per host) -------------
    def has_netem(self) -> bool:
        """Can a netem qdisc be added here? Tried in a scratch network namespace."""
        return self._capability("netem", [
            ["ip", "link", "set", "lo", "up"],
            ["tc", "qdisc", "add", "dev", "lo", "root", "netem", "delay", "1ms"],
        ])

    def has_wireguard_module(self) -> bool:
        """Can a kernel WireGuard link be created here (module autoload included)?"""
        return self._capability("wireguard", [
            ["ip", "link", "add", "vpbwgprobe0", "type", "wireguard"],
        ])

    def _capability(self, name: str, commands: Sequence[Sequence[str]]) -> bool:
        cache: dict[str, bool] = self.__dict__.setdefault("_capabilities", {})
        if name not in cache:
            cache[name] = self.try_in_scratch_netns(commands)
        return cache[name]

    def try_in_scratch_netns(self, commands: Sequence[Sequence[str]]) -> bool:
        """True when every command succeeds inside a fresh, empty network namespace on this
        host (``unshare --net``: the namespace vanishes with the command, nothing to clean)."""
        script = " && ".join(shlex.join(argv) for argv in commands)
        return self.run(["unshare", "--net", "--", "sh", "-c", script], timeout=20).ok

    @abstractmethod
    def processes(self) -> list[Process]:
        """Processes started on this host that are still supervised."""

    def stop_processes(self, timeout: float = 5.0) -> None:
        """Stop every supervised process, newest first."""
        for process in reversed(self.processes()):
            process.stop(timeout)
