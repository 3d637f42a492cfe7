"""Background processes on a host reached only through its ``run`` (SSH hosts, test-driver
VMs): one implementation, typed against Host, so both backends supervise daemons alike.

Each process runs detached on the host (``setsid``), under a small ``sh`` wrapper that
writes the daemon's PID and, when it ends, its exit status next to its log below the host's
state directory; ``is_running`` asks ``kill -0``, ``stop`` signals the process group (TERM,
then KILL). The command lines are built by pure functions, tested alone.
"""

from __future__ import annotations

import contextlib
import itertools
import shlex
import signal
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import PurePosixPath

from harness.hosts.base import Host, Process


@dataclass(frozen=True)
class RemoteFiles:
    """Where a background process keeps its log, PID and exit status on the host."""

    base: PurePosixPath

    @property
    def log(self) -> PurePosixPath:
        return self.base.with_name(self.base.name + ".log")

    @property
    def pid(self) -> PurePosixPath:
        return self.base.with_name(self.base.name + ".pid")

    @property
    def status(self) -> PurePosixPath:
        return self.base.with_name(self.base.name + ".status")


#: Runs the daemon ("$@") in the background of a detached shell (the leader of its own
#: session and process group), records "<group> <daemon PID>", then ignores TERM itself (the
#: daemon, already started, does not inherit that) so it can write the daemon's exit status
#: when the process group is stopped.
_WRAPPER = ('"$@" & echo "$$ $!" > "$0.pid.tmp" && mv "$0.pid.tmp" "$0.pid"; '
            "trap '' TERM; wait $!; echo $? > \"$0.status\"")


def start_script(files: RemoteFiles, argv: Sequence[str],
                 env: Mapping[str, str] | None = None) -> str:
    """Shell line that starts ``argv`` detached (own session, output to the log) and prints
    ``<pgid> <pid>`` once the daemon's PID is known."""
    words = [*(["env", *(f"{key}={value}" for key, value in env.items())] if env else []),
             *argv]
    launch = shlex.join(["setsid", "nohup", "sh", "-c", _WRAPPER, str(files.base), *words])
    log, pid = (shlex.quote(str(path)) for path in (files.log, files.pid))
    return (
        f"mkdir -p {shlex.quote(str(files.base.parent))} && rm -f {pid} && cd / && "
        f"{{ {launch} > {log} 2>&1 < /dev/null & }}; "
        f"i=0; while [ ! -s {pid} ] && [ $i -lt 500 ]; do sleep 0.01; i=$((i+1)); done; "
        f"cat {pid}"
    )


def parse_started(stdout: str) -> tuple[int, int]:
    """(process group, daemon PID) from ``start_script``'s output."""
    words = stdout.split()
    if len(words) != 2 or not all(word.isdigit() for word in words):
        raise ValueError(f"unexpected output starting a process: {stdout.strip()!r}")
    return int(words[0]), int(words[1])


def _alive(pid: int) -> str:
    """Shell test: ``pid`` exists and is not a zombie (an orphan nobody reaped)."""
    return (f"kill -0 {pid} 2>/dev/null && "
            f"[ \"$(sed 's/.*) //' /proc/{pid}/stat 2>/dev/null | cut -c1)\" != Z ]")


def running_script(files: RemoteFiles, pid: int) -> str:
    """Exit 0 while the daemon runs: no exit status written yet and ``kill -0`` works."""
    return f"[ ! -e {shlex.quote(str(files.status))} ] && {_alive(pid)}"


def signal_argv(signum: int, pgid: int) -> list[str]:
    """Signal the whole process group (the wrapper and the daemon's children)."""
    return ["kill", "-s", signal.Signals(signum).name.removeprefix("SIG"), "--", f"-{pgid}"]


def stop_script(files: RemoteFiles, pgid: int, pid: int, timeout_s: float) -> str:
    """TERM the group, wait up to ``timeout_s`` for the daemon to end, then KILL the group;
    prints the exit status if known. (The shell's own ``kill``: no ``--`` in dash's.)"""
    steps = max(1, round(timeout_s * 10))
    status = shlex.quote(str(files.status))
    running = f"{{ [ ! -e {status} ] && {_alive(pid)}; }}"
    return (
        f"kill -TERM -{pgid} 2>/dev/null; i=0; "
        f"while {running} && [ $i -lt {steps} ]; do sleep 0.1; i=$((i+1)); done; "
        f"if {running}; then kill -KILL -{pgid} 2>/dev/null; echo killed; fi; "
        f"sleep 0.05; cat {status} 2>/dev/null; true"
    )


@dataclass
class RemoteProcess(Process):
    """A daemon on a host, known by its PID and process group there."""

    host: Host
    name: str
    files: RemoteFiles
    pgid: int
    _pid: int
    _status: int | None = field(default=None, init=False)

    @property
    def pid(self) -> int:
        return self._pid

    def is_running(self) -> bool:
        if self._status is not None:
            return False
        running = self.host.run(["sh", "-c", running_script(self.files, self._pid)],
                                timeout=10).ok
        if not running:
            self._status = self._read_status()
        return running

    def _read_status(self) -> int:
        result = self.host.run(["cat", str(self.files.status)], timeout=10)
        text = result.stdout.strip()
        return int(text) if result.ok and text.lstrip("-").isdigit() else -1

    def returncode(self) -> int | None:
        return None if self.is_running() else self._status

    def wait(self, timeout: float) -> int | None:
        deadline = time.monotonic() + timeout
        while self.is_running():
            if time.monotonic() >= deadline:
                return None
            time.sleep(0.2)
        return self._status

    def signal(self, signum: int) -> None:
        if self.is_running():
            self.host.run(signal_argv(signum, self.pgid), timeout=10)

    def stop(self, timeout: float = 5.0) -> int | None:
        if self._status is not None:
            return self._status
        result = self.host.run(["sh", "-c", stop_script(self.files, self.pgid, self._pid,
                                                        timeout)],
                               timeout=timeout + 10)
        words = result.stdout.split()
        last = words[-1] if words else ""
        if last.lstrip("-").isdigit():
            self._status = int(last)
        else:
            self._status = -signal.SIGKILL if "killed" in words else -signal.SIGTERM
        return self._status

    def log_tail(self, lines: int = 40) -> str:
        result = self.host.run(["tail", "-n", str(lines), "--", str(self.files.log)],
                               timeout=10)
        return result.stdout.rstrip("\n") if result.ok else ""

    def output(self) -> str:
        result = self.host.run(["cat", "--", str(self.files.log)], timeout=30)
        return result.stdout if result.ok else ""


class RemoteProcesses:
    """The processes one host started: its ``start``, ``processes`` and ``stop_processes``
    delegate here."""

    def __init__(self, host: Host) -> None:
        self.host = host
        self._started: list[RemoteProcess] = []
        self._sequence = itertools.count(1)

    def start(self, argv: Sequence[str], *, name: str,
              env: Mapping[str, str] | None = None) -> RemoteProcess:
        host = self.host
        files = RemoteFiles(host.state_dir / "processes" / f"{name}.{next(self._sequence)}")
        output = host.succeed(["sh", "-c", start_script(files, argv, env)], timeout=20)
        try:
            pgid, pid = parse_started(output)
        except ValueError as error:
            log = host.run(["tail", "-n", "20", "--", str(files.log)], timeout=10).stdout
            raise RuntimeError(f"on {host.name}: could not start {name}: {error}; its log: "
                               f"{log.strip() or '(empty)'}") from None
        process = RemoteProcess(host, name, files, pgid, pid)
        self._started.append(process)
        return process

    def running(self) -> list[Process]:
        return [process for process in self._started if process.is_running()]

    def stop_all(self, timeout: float = 5.0) -> None:
        """Stop every process, newest first; one that cannot be stopped does not keep the
        others running."""
        for process in reversed(self._started):
            with contextlib.suppress(Exception):
                process.stop(timeout)
        self._started.clear()
