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
from collections.abc import Sequence
from pathlib import Path, PurePosixPath

from harness.hosts.local import LocalMachine


class NamespaceHost(LocalMachine):
    def __init__(
        self,
        name: str,
        netns_path: Path,
        mountns_path: Path,
        state_dir: Path,
    ) -> None:
        super().__init__(name, state_dir)
        self.netns_path = netns_path
        self.mountns_path = mountns_path

    def _command(self, argv: Sequence[str]) -> list[str]:
        return [
            "nsenter",
            f"--net={self.netns_path}",
            f"--mount={self.mountns_path}",
            "--",
            *argv,
        ]

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

    def make_dir(self, path: PurePosixPath, mode: int = 0o700) -> None:
        self._local_path(path).mkdir(parents=True, exist_ok=True, mode=mode)

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
