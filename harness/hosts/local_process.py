"""Supervised child processes of the harness, on this machine."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

from harness.hosts.base import CommandResult, Process


def _kill_group(pid: int, signum: int) -> None:
    """Signal the process group we created for ``pid`` (start_new_session)."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, signum)


def run_command(
    argv: Sequence[str],
    *,
    timeout: float,
    input_text: str | None = None,
    env: Mapping[str, str] | None = None,
    display_argv: Sequence[str] | None = None,
    cwd: Path | None = None,
) -> CommandResult:
    """Run ``argv`` in its own process group; on timeout the whole group is killed."""
    started = time.monotonic()
    process = subprocess.Popen(
        list(argv),
        cwd=cwd,
        stdin=subprocess.PIPE if input_text is not None else subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=dict(env) if env is not None else None,
        start_new_session=True,
    )
    timed_out = False
    try:
        stdout, stderr = process.communicate(input_text, timeout=timeout)
    except subprocess.TimeoutExpired:
        timed_out = True
        _kill_group(process.pid, signal.SIGKILL)
        stdout, stderr = process.communicate()
    except BaseException:
        _kill_group(process.pid, signal.SIGKILL)
        process.wait()
        raise
    return CommandResult(
        argv=tuple(display_argv if display_argv is not None else argv),
        returncode=process.returncode,
        stdout=stdout,
        stderr=stderr,
        duration_s=time.monotonic() - started,
        timed_out=timed_out,
    )


def harness_tools_dir() -> Path:
    """Where the harness's own programs are installed (vpb-probe, vpb-linkemu, ...): beside
    the Python running the harness (a venv's or the Nix package's bin)."""
    return Path(sys.executable).parent


def host_environment(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """This process's environment for a command on a local host, with the harness's own
    programs reachable (after everything already on PATH) and ``extra`` on top."""
    env = dict(os.environ)
    path = env.get("PATH", os.defpath)
    tools = str(harness_tools_dir())
    if tools not in path.split(os.pathsep):
        env["PATH"] = f"{path}{os.pathsep}{tools}" if path else tools
    env.update(extra or {})
    return env


def prefer_as_oom_victim(pid: int) -> None:
    """Make a benchmark process the kernel's first choice under memory pressure.

    A VPN that queues without bound (seen: Yggdrasil 0.4.7 under unlimited UDP grew to 8 GB)
    must be the process the OOM killer takes, not the harness or anything else on the machine;
    the harness then records the daemon's death. Children inherit the setting.
    """
    with contextlib.suppress(OSError):
        Path(f"/proc/{pid}/oom_score_adj").write_text("1000")


class LocalProcess(Process):
    """A daemon started with Popen; output goes to ``log_path``."""

    def __init__(
        self,
        name: str,
        argv: Sequence[str],
        log_path: Path,
        env: Mapping[str, str] | None = None,
    ) -> None:
        self.name = name
        self.argv = tuple(argv)
        self.log_path = log_path
        log_path.parent.mkdir(parents=True, exist_ok=True)
        with log_path.open("ab") as log:
            self._popen = subprocess.Popen(
                list(argv),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=dict(env) if env is not None else None,
                start_new_session=True,
            )
        prefer_as_oom_victim(self._popen.pid)

    @property
    def pid(self) -> int:
        return self._popen.pid

    def is_running(self) -> bool:
        return self._popen.poll() is None

    def returncode(self) -> int | None:
        return self._popen.poll()

    def wait(self, timeout: float) -> int | None:
        try:
            return self._popen.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return None

    def signal(self, signum: int) -> None:
        if self.is_running():
            self._popen.send_signal(signum)

    def stop(self, timeout: float = 5.0) -> int | None:
        if self._popen.poll() is None:
            _kill_group(self.pid, signal.SIGTERM)
            if self.wait(timeout) is None:
                _kill_group(self.pid, signal.SIGKILL)
                self.wait(timeout)
        return self._popen.poll()

    def output(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def log_tail(self, lines: int = 40) -> str:
        return "\n".join(self.output().splitlines()[-lines:])
