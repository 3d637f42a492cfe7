"""This machine itself, as a Host: where `vpn-bench keys` runs its tools and where the local
backend answers read-only questions (which binaries are installed) without a testbed."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path, PurePosixPath

from harness.hosts.base import CommandResult, Host, Process
from harness.hosts.local_process import LocalProcess, host_environment, run_command


class LocalMachine(Host):
    """Commands run directly on this machine, in its own namespaces (and the base of the
    namespace hosts, which run the same way after entering their namespaces)."""

    def __init__(self, name: str = "localhost", state_dir: Path | None = None) -> None:
        self.name = name
        self._state_root = state_dir or Path(tempfile.gettempdir()) / "vpn-bench-local"
        self.state_dir = PurePosixPath(self._state_root)
        self._processes: list[LocalProcess] = []

    def _command(self, argv: Sequence[str]) -> list[str]:
        """The argv that runs ``argv`` on this host (a namespace host enters itself first)."""
        return list(argv)

    def run(
        self,
        argv: Sequence[str],
        *,
        timeout: float,
        input_text: str | None = None,
        env: Mapping[str, str] | None = None,
    ) -> CommandResult:
        return run_command(self._command(argv), timeout=timeout, input_text=input_text,
                           env=host_environment(env), display_argv=argv)

    def start(
        self,
        argv: Sequence[str],
        *,
        name: str,
        env: Mapping[str, str] | None = None,
    ) -> Process:
        log_path = self._state_root / "logs" / f"{name}.log"
        process = LocalProcess(name, self._command(argv), log_path, host_environment(env))
        self._processes.append(process)
        return process

    def processes(self) -> list[Process]:
        return [process for process in self._processes if process.is_running()]

    def which(self, binary: str) -> str | None:
        """In-process PATH lookup (local hosts share this machine's filesystem and PATH):
        read-only commands start no process to answer it."""
        return shutil.which(binary, path=host_environment()["PATH"])

    def read_file(self, path: PurePosixPath) -> bytes:
        """Reads may go anywhere (e.g. /proc)."""
        return Path(path).read_bytes()

    def exists(self, path: PurePosixPath) -> bool:
        return Path(path).exists()
