"""A testbed host that is a network namespace (plus its own mount namespace) on this machine.

Commands enter the host with ``nsenter`` into its network namespace and a persistent mount
namespace in which ``/run`` is the host's own directory and ``/sys`` shows its interfaces,
so daemons with fixed socket paths (wireguard-go's ``/run/wireguard``) never collide.
Everything else of the filesystem is shared, which is why files may only be written
below the host's state directory. (``/proc`` is the machine's: the hosts share its CPUs.)
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Mapping, Sequence
from pathlib import Path, PurePosixPath

from harness.hosts.base import CommandResult, Host, Process
from harness.hosts.local_process import LocalProcess, host_environment, run_command


class NamespaceHost(Host):
    def __init__(
        self,
        name: str,
        netns_path: Path,
        mountns_path: Path,
        state_dir: Path,
    ) -> None:
        self.name = name
        self.netns_path = netns_path
        self.mountns_path = mountns_path
        self.state_dir = PurePosixPath(state_dir)
        self._state_root = state_dir
        self._processes: list[LocalProcess] = []

    def _enter(self, argv: Sequence[str]) -> list[str]:
        return [
            "nsenter",
            f"--net={self.netns_path}",
            f"--mount={self.mountns_path}",
            "--",
            *argv,
        ]

    def run(
        self,
        argv: Sequence[str],
        *,
        timeout: float,
        input_text: str | None = None,
        env: Mapping[str, str] | None = None,
    ) -> CommandResult:
        return run_command(
            self._enter(argv),
            timeout=timeout,
            input_text=input_text,
            env=host_environment(env),
            display_argv=argv,
        )

    def start(
        self,
        argv: Sequence[str],
        *,
        name: str,
        env: Mapping[str, str] | None = None,
    ) -> Process:
        log_path = self._state_root / "logs" / f"{name}.log"
        process = LocalProcess(name, self._enter(argv), log_path, host_environment(env))
        self._processes.append(process)
        return process

    def _local_path(self, path: PurePosixPath) -> Path:
        resolved = Path(os.path.normpath(path))
        if not resolved.is_relative_to(self._state_root):
            raise ValueError(
                f"{self.name}: refusing to touch {path}: the local testbed shares this "
                f"machine's filesystem, so hosts may only write below {self._state_root}"
            )
        return resolved

    def write_file(self, path: PurePosixPath, content: str | bytes, mode: int = 0o600) -> None:
        local = self._local_path(path)
        local.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        data = content.encode() if isinstance(content, str) else content
        fd = os.open(local, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.chmod(local, mode)

    def read_file(self, path: PurePosixPath) -> bytes:
        """Reads may go anywhere (e.g. /proc); only writes are confined to the state dir."""
        return Path(path).read_bytes()

    def make_dir(self, path: PurePosixPath, mode: int = 0o700) -> None:
        self._local_path(path).mkdir(parents=True, exist_ok=True, mode=mode)

    def processes(self) -> list[Process]:
        return [process for process in self._processes if process.is_running()]

    def which(self, binary: str) -> str | None:
        """The hosts share this machine's filesystem and PATH: look up in-process."""
        return shutil.which(binary, path=host_environment()["PATH"])

    def exists(self, path: PurePosixPath) -> bool:
        return Path(path).exists()

    def remove(self, path: PurePosixPath) -> None:
        local = self._local_path(path)
        if local.is_dir() and not local.is_symlink():
            shutil.rmtree(local)
        else:
            local.unlink(missing_ok=True)

    def stop_processes(self, timeout: float = 5.0) -> None:
        for process in reversed(self._processes):
            process.stop(timeout)
        self._processes.clear()
