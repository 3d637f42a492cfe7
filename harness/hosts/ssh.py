"""A Host reached over SSH with the OpenSSH client (the ``ssh`` binary; no Python SSH library).

One master connection per host (ControlMaster, socket in a private directory) carries every
command, so a command costs a channel, not a handshake. Host keys are always verified
against the harness's own known_hosts file (StrictHostKeyChecking=yes): a host whose key is
not pinned, or changed, is refused.

Background processes run detached on the host, supervised by ``harness.hosts.remote``
(shared with the vm backend). The ssh command lines are built by pure functions below,
tested alone.
"""

from __future__ import annotations

import contextlib
import dataclasses
import shlex
import subprocess
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from harness.hosts.base import CommandResult, Host, Process
from harness.hosts.local_process import run_command
from harness.hosts.remote import RemoteProcesses

#: Seconds a command may take beyond its own timeout for the connection itself.
CONNECT_SLACK_S = 15.0
#: Seconds a command retries a refused or unreachable connection before giving up.
RECONNECT_S = 15.0
RECONNECT_POLL_S = 1.0
#: ``timeout``'s exit status when it had to stop the command.
REMOTE_TIMEOUT_STATUS = 124


class SshError(RuntimeError):
    """A host could not be reached over SSH; the message names the host and the cause."""


@dataclass(frozen=True)
class SshTarget:
    """Everything the ssh client needs to reach one host."""

    name: str
    address: str
    user: str
    known_hosts: Path
    port: int = 22
    identity_file: Path | None = None
    #: Multiplexing socket; None: every command opens its own connection.
    control_path: Path | None = None
    connect_timeout_s: float = 10.0

    @property
    def label(self) -> str:
        return f"{self.name} ({self.user}@{self.address}:{self.port})"


def ssh_options(target: SshTarget) -> list[str]:
    """Client options shared by every invocation: strict host keys, batch mode, multiplexing."""
    options = [
        "-o", "BatchMode=yes",
        "-o", "StrictHostKeyChecking=yes",
        "-o", f"UserKnownHostsFile={target.known_hosts}",
        "-o", "GlobalKnownHostsFile=/dev/null",
        "-o", "UpdateHostKeys=no",
        "-o", "CheckHostIP=no",
        "-o", f"ConnectTimeout={max(1, round(target.connect_timeout_s))}",
        "-o", "ServerAliveInterval=10",
        "-o", "ServerAliveCountMax=3",
        "-o", "LogLevel=ERROR",
        "-F", "/dev/null",
        "-p", str(target.port),
        "-l", target.user,
    ]
    if target.identity_file is not None:
        options += ["-i", str(target.identity_file), "-o", "IdentitiesOnly=yes"]
    if target.control_path is not None:
        options += ["-o", f"ControlPath={target.control_path}"]
    else:
        options += ["-o", "ControlPath=none"]
    return options


def remote_command(argv: Sequence[str], env: Mapping[str, str] | None = None,
                   timeout_s: float | None = None) -> str:
    """The shell line the host runs for ``argv``: quoted, with ``env`` and a remote
    ``timeout`` so a command never outlives its budget on the host either."""
    words: list[str] = []
    if timeout_s is not None:
        words += ["timeout", "--kill-after=2", f"{timeout_s:g}"]
    if env:
        words += ["env", *(f"{key}={value}" for key, value in env.items())]
    return shlex.join([*words, *argv])


def run_argv(target: SshTarget, argv: Sequence[str], *, env: Mapping[str, str] | None = None,
             timeout_s: float | None = None) -> list[str]:
    """``ssh ... -- host 'command'`` for one command (multiplexed when a master runs)."""
    return ["ssh", *ssh_options(target), "-o", "ControlMaster=no", "-T", "--",
            target.address, remote_command(argv, env, timeout_s)]


def master_argv(target: SshTarget) -> list[str]:
    """Start the master connection in the background (it persists until ``exit_argv``)."""
    if target.control_path is None:
        raise ValueError(f"{target.name}: no control path to multiplex on")
    return ["ssh", *ssh_options(target), "-o", "ControlMaster=yes", "-o", "ControlPersist=yes",
            "-f", "-N", "-T", "--", target.address]


def exit_argv(target: SshTarget) -> list[str]:
    """Ask the master to close (its sessions end with it)."""
    return ["ssh", *ssh_options(target), "-O", "exit", "--", target.address]


def describe_ssh_failure(target: SshTarget, result: CommandResult) -> str:
    """One line naming the host and what went wrong with the connection, with the fix."""
    text = result.stderr
    changed = "REMOTE HOST IDENTIFICATION HAS CHANGED" in text or (
        "Host key for" in text and "has changed" in text)
    if changed:
        return (f"host {target.label}: its SSH host key CHANGED since it was pinned in "
                f"{target.known_hosts}; refusing to connect. If the host was reinstalled, "
                "check the new fingerprint and pin it again with "
                "`vpn-bench hosts trust --inventory FILE --replace`")
    if "host key is known for" in text or "Host key verification failed" in text:
        return (f"host {target.label}: no pinned SSH host key in {target.known_hosts}; "
                "run `vpn-bench hosts trust --inventory FILE` first")
    if "Permission denied" in text:
        return (f"host {target.label}: SSH login refused (permission denied): check user "
                "and identity_file in the inventory")
    if result.timed_out:
        return f"host {target.label}: SSH connection timed out"
    detail = (text.strip() or result.stdout.strip()).splitlines()
    return f"host {target.label}: SSH failed: {detail[-1] if detail else result.describe()}"


class SshConnection:
    """The master connection to one host; opened once, closed at teardown."""

    def __init__(self, target: SshTarget) -> None:
        self.target = target
        self.opened = False

    def open(self) -> None:
        if self.opened or self.target.control_path is None:
            return
        # The master lives on in the background: its stderr goes to a file, never a pipe
        # (a pipe held open by it would make the caller wait for the master's exit).
        with tempfile.TemporaryFile(mode="w+") as stderr:
            completed = subprocess.run(
                master_argv(self.target), stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL, stderr=stderr, text=True,
                timeout=self.target.connect_timeout_s + CONNECT_SLACK_S, check=False,
                start_new_session=True)  # a Ctrl-C for vpn-bench must not cut it mid-cleanup
            stderr.seek(0)
            message = stderr.read()
        if completed.returncode != 0:
            result = CommandResult(argv=("ssh", self.target.address), returncode=
                                   completed.returncode, stdout="", stderr=message,
                                   duration_s=0.0)
            raise SshError(describe_ssh_failure(self.target, result))
        self.opened = True

    def close(self) -> None:
        if not self.opened:
            return
        run_command(exit_argv(self.target), timeout=10)
        self.opened = False

    def reopen(self) -> None:
        """A new master after the host went away (a reboot): the old one is asked to exit
        and its socket removed, then a master is opened; raises SshError while the host
        does not answer."""
        with contextlib.suppress(Exception):
            self.close()
        self.opened = False
        if self.target.control_path is not None:
            self.target.control_path.unlink(missing_ok=True)
        self.open()

    def check(self) -> None:
        """Connect once (no multiplexing) and run ``true``: verifies key, login, reachability."""
        plain = dataclasses.replace(self.target, control_path=None)
        result = run_command(run_argv(plain, ["true"]),
                             timeout=plain.connect_timeout_s + CONNECT_SLACK_S)
        if not result.ok:
            raise SshError(describe_ssh_failure(plain, result))


class SshHost(Host):
    """A real machine reached over SSH; ``state_dir`` is the harness's directory there."""

    def __init__(self, target: SshTarget, state_dir: PurePosixPath) -> None:
        self.name = target.name
        self.target = target
        self.state_dir = state_dir
        self.connection = SshConnection(target)
        self._processes = RemoteProcesses(self)
        #: Seconds a command keeps trying to connect before the host counts as lost.
        self.reconnect_s = RECONNECT_S
        #: The last command found the host unreachable.
        self.down = False

    def wait_back(self, timeout_s: float) -> bool:
        """After a lost connection: True once the host answers again (within ``timeout_s``)."""
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                if self.run(["true"], timeout=10).ok:
                    return True
            except SshError:
                pass
            if time.monotonic() >= deadline:
                return False
            time.sleep(RECONNECT_POLL_S)

    def run(
        self,
        argv: Sequence[str],
        *,
        timeout: float,
        input_text: str | None = None,
        env: Mapping[str, str] | None = None,
    ) -> CommandResult:
        deadline = time.monotonic() + (0.0 if self.down else self.reconnect_s)
        while True:
            result = run_command(run_argv(self.target, argv, env=env, timeout_s=timeout),
                                 timeout=timeout + CONNECT_SLACK_S, input_text=input_text,
                                 display_argv=argv)
            if result.returncode != 255 or not _is_connection_failure(result.stderr):
                break
            # A connection that was never made ran nothing, so trying again is safe: a
            # short outage (a reboot of sshd, a link flap) is ridden out, bounded.
            if not _never_connected(result.stderr) or time.monotonic() >= deadline:
                self.down = True  # later commands fail fast until the host answers again
                raise SshError(describe_ssh_failure(self.target, result))
            time.sleep(RECONNECT_POLL_S)
        self.down = False
        if result.returncode == REMOTE_TIMEOUT_STATUS and result.duration_s >= timeout:
            result = dataclasses.replace(result, timed_out=True)
        return result

    def start(
        self,
        argv: Sequence[str],
        *,
        name: str,
        env: Mapping[str, str] | None = None,
    ) -> Process:
        return self._processes.start(argv, name=name, env=env)

    def processes(self) -> list[Process]:
        return self._processes.running()

    def stop_processes(self, timeout: float = 5.0) -> None:
        self._processes.stop_all(timeout)


def _never_connected(stderr: str) -> bool:
    """ssh could not connect at all (so the remote command did not start)."""
    return any(marker in stderr for marker in (
        "Connection refused", "Connection timed out", "No route to host",
        "Network is unreachable", "ssh: connect to"))


def _is_connection_failure(stderr: str) -> bool:
    """ssh's own exit 255 (not a remote command's) comes with one of these messages."""
    markers = ("Host key verification failed", "Connection refused", "Connection timed out",
               "Permission denied", "Could not resolve hostname", "No route to host",
               "Connection closed by", "HOST IDENTIFICATION HAS CHANGED", "ssh: connect to",
               "kex_exchange_identification", "mux_client")
    return any(marker in stderr for marker in markers)
