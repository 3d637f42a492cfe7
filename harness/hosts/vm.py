"""A Host that is a NixOS test-driver VM, driven through the driver's ``Machine.execute``.

The driver runs each command as ``timeout T bash -c 'set -euo pipefail; CMD'`` on the guest
and hands back ``(exit status, stdout)`` only (stderr goes to the guest's console), with no
standard input. So every command is wrapped by ``guest_command`` below: its stderr goes to a
temporary file that is appended, base64-encoded, after a marker on stdout; its input is
decoded from base64 on the guest (large inputs are uploaded in chunks first, because one
``bash -c`` argument is limited to 128 KiB); and a guest-side ``timeout`` bounds it, the
driver's own timeout being only a backstop. What reaches the driver is one ASCII line
(``one_line``), so no quoting or newline in a command can confuse the guest's shell.

The driver talks to a guest over one shell, so ``execute`` must never run twice at once on
one machine: every call holds that machine's lock. The harness does run commands concurrently
(the CPU sampler while a client measures, parallel TCP, readiness pings), so a command that
may take long (a timeout above ``DIRECT_TIMEOUT_S``) is not run through ``execute`` directly:
it is started detached on the guest, with output, error and status in a temporary directory,
and polled with short calls, leaving the shell free for the others in the meantime.

Background processes use the same detached wrapper as the ssh backend (``setsid``, PID and
exit status in files next to the log below the state directory): the same
implementation, ``harness.hosts.remote``.
"""

from __future__ import annotations

import base64
import contextlib
import math
import secrets
import shlex
import threading
import time
from collections.abc import Mapping, Sequence
from pathlib import PurePosixPath
from typing import Protocol

from harness.hosts.base import CommandResult, Host, Process
from harness.hosts.remote import RemoteProcesses
from harness.hosts.ssh import REMOTE_TIMEOUT_STATUS

#: Seconds the driver waits beyond a command's own (guest-side) timeout.
DRIVER_SLACK_S = 15
#: Base64 characters of input passed inline; more is uploaded in chunks of this size first.
INLINE_INPUT_CHARS = 48_000
#: Commands allowed up to this many seconds run through one ``execute``; longer ones detached.
DIRECT_TIMEOUT_S = 15.0
#: Seconds between polls of a detached command.
POLL_S = 0.2

_locks: dict[int, threading.Lock] = {}
_locks_guard = threading.Lock()


def machine_lock(machine: object) -> threading.Lock:
    """The one lock of a driver machine's shell, shared by every VmHost on that machine."""
    with _locks_guard:
        return _locks.setdefault(id(machine), threading.Lock())


class DriverMachine(Protocol):
    """What the harness uses of the NixOS test driver's Machine (nixos/lib/test-driver)."""

    name: str

    def execute(self, command: str, check_return: bool = True, check_output: bool = True,
                timeout: int | None = 900) -> tuple[int, str]: ...


class VmError(RuntimeError):
    """The driver could not run a command on the VM (it is down, or its shell is gone)."""


def _command_line(argv: Sequence[str], timeout_s: float, env: Mapping[str, str] | None,
                  stdin_b64: str | None, stdin_file: str | None) -> tuple[str, str]:
    """``argv`` under a guest-side ``timeout`` (with ``env``), and its stdin redirection."""
    words = ["timeout", "--kill-after=2", f"{timeout_s:g}"]
    if env:
        words += ["env", *(f"{key}={value}" for key, value in env.items())]
    if stdin_file is not None:
        source = f"< {shlex.quote(stdin_file)}"
    elif stdin_b64 is not None:
        source = f"< <(printf %s {shlex.quote(stdin_b64)} | base64 -d)"
    else:
        source = "< /dev/null"
    return shlex.join([*words, *argv]), source


def guest_command(argv: Sequence[str], *, marker: str, timeout_s: float,
                  env: Mapping[str, str] | None = None, stdin_b64: str | None = None,
                  stdin_file: str | None = None) -> str:
    """The shell line run through ``Machine.execute`` for ``argv``: stdout as is, then
    ``marker``, then the command's stderr in base64; exit status = the command's."""
    command, source = _command_line(argv, timeout_s, env, stdin_b64, stdin_file)
    return (f"vpb_err=$(mktemp); vpb_rc=0; {command} 2>\"$vpb_err\" {source} || vpb_rc=$?; "
            f"printf %s {shlex.quote(marker)}; base64 -w0 < \"$vpb_err\"; "
            f"rm -f -- \"$vpb_err\"; exit $vpb_rc")


def detached_command(argv: Sequence[str], *, timeout_s: float,
                     env: Mapping[str, str] | None = None, stdin_b64: str | None = None,
                     stdin_file: str | None = None) -> str:
    """Start ``argv`` detached on the guest and print the directory where its ``out``,
    ``err`` and (when it has ended) ``rc`` appear."""
    command, source = _command_line(argv, timeout_s, env, stdin_b64, stdin_file)
    body = (f'cd / && {{ {command} > "$0/out" 2> "$0/err" {source}; echo $? > "$0/rc.tmp"; '
            f'mv "$0/rc.tmp" "$0/rc"; }}')
    return ('vpb_dir=$(mktemp -d /tmp/vpb-command.XXXXXX); '
            f'setsid bash -c {shlex.quote(body)} "$vpb_dir" > /dev/null 2>&1 < /dev/null & '
            'echo "$vpb_dir"')


def one_line(command: str) -> str:
    """``command`` as one plain-ASCII line (``eval`` of its base64): whatever the command
    holds (newlines, quotes, non-ASCII), the driver's shell reads exactly one line."""
    encoded = base64.b64encode(command.encode()).decode()
    return f'eval "$(printf %s {encoded} | base64 -d)"'


def collect_command(directory: str, marker: str) -> str:
    """Print a detached command's status, ``marker``, its stderr in base64, ``marker``, its
    stdout; then remove its directory."""
    quoted = shlex.quote(directory)
    return (f"cat {quoted}/rc; printf %s {shlex.quote(marker)}; base64 -w0 < {quoted}/err; "
            f"printf %s {shlex.quote(marker)}; cat {quoted}/out; rm -rf -- {quoted}")


def parse_collected(output: str, marker: str) -> tuple[int, str, str]:
    """(status, stdout, stderr) from ``collect_command``'s output."""
    status_text, _, rest = output.partition(marker)
    encoded, _, stdout = rest.partition(marker)
    try:
        stderr = base64.b64decode(encoded.strip(), validate=True).decode(errors="replace")
    except ValueError:
        stderr = encoded
    status = status_text.strip()
    return (int(status) if status.lstrip("-").isdigit() else -1), stdout, stderr


def split_output(output: str, marker: str) -> tuple[str, str]:
    """(stdout, stderr) from ``guest_command``'s output; all stdout if the marker is missing
    (the command was cut off by the driver's own timeout)."""
    head, found, tail = output.rpartition(marker)
    if not found:
        return output, ""
    try:
        stderr = base64.b64decode(tail.strip(), validate=True).decode(errors="replace")
    except ValueError:
        stderr = tail
    return head, stderr


def driver_timeout(timeout_s: float) -> int:
    """The driver's backstop: whole seconds, beyond the guest-side timeout."""
    return math.ceil(timeout_s) + DRIVER_SLACK_S


class VmHost(Host):
    """One VM of a NixOS test; ``state_dir`` is the harness's directory on the guest."""

    def __init__(self, machine: DriverMachine, state_dir: PurePosixPath,
                 name: str | None = None) -> None:
        self.name = name or machine.name
        self.machine = machine
        self.state_dir = state_dir
        self._processes = RemoteProcesses(self)

    def _execute(self, command: str, timeout: int) -> tuple[int, str]:
        try:
            with machine_lock(self.machine):
                return self.machine.execute(one_line(command), timeout=timeout)
        except Exception as error:  # the driver raises its own types; name the VM
            raise VmError(f"VM {self.name}: the test driver could not run a command: "
                          f"{error}") from error

    def run(
        self,
        argv: Sequence[str],
        *,
        timeout: float,
        input_text: str | None = None,
        env: Mapping[str, str] | None = None,
    ) -> CommandResult:
        marker = f"--vpb-stderr-{secrets.token_hex(8)}--"
        encoded = base64.b64encode(input_text.encode()).decode() if input_text else None
        upload = None
        if encoded is not None and len(encoded) > INLINE_INPUT_CHARS:
            upload = self._upload(encoded)
            encoded = None
        started = time.monotonic()
        try:
            if timeout <= DIRECT_TIMEOUT_S:
                command = guest_command(argv, marker=marker, timeout_s=timeout, env=env,
                                        stdin_b64=encoded, stdin_file=upload)
                status, output = self._execute(command, driver_timeout(timeout))
                stdout, stderr = split_output(output, marker)
            else:
                status, stdout, stderr = self._run_detached(
                    detached_command(argv, timeout_s=timeout, env=env, stdin_b64=encoded,
                                     stdin_file=upload), timeout, marker)
        finally:
            if upload is not None:
                with contextlib.suppress(VmError):
                    self._execute(f"rm -f -- {shlex.quote(upload)}", 30)
        duration = time.monotonic() - started
        timed_out = status == REMOTE_TIMEOUT_STATUS and duration >= timeout
        return CommandResult(argv=tuple(argv), returncode=status, stdout=stdout,
                             stderr=stderr, duration_s=duration, timed_out=timed_out)

    def _run_detached(self, start: str, timeout: float, marker: str) -> tuple[int, str, str]:
        """Start a long command detached and poll it, the shell free between polls."""
        status, output = self._execute(start, 30)
        directory = output.strip()
        if status != 0 or not directory.startswith("/tmp/vpb-command."):
            raise VmError(f"VM {self.name}: could not start a command: {output.strip()!r}")
        done = f"test -e {shlex.quote(directory)}/rc"
        deadline = time.monotonic() + timeout + DRIVER_SLACK_S
        while self._execute(done, 30)[0] != 0:
            if time.monotonic() >= deadline:  # the guest-side timeout should have ended it
                self._execute(f"rm -rf -- {shlex.quote(directory)}", 30)
                return REMOTE_TIMEOUT_STATUS, "", "no exit status from the guest"
            time.sleep(POLL_S)
        _, collected = self._execute(collect_command(directory, marker), 60)
        return parse_collected(collected, marker)

    def _upload(self, encoded: str) -> str:
        """Write base64 input to a decoded temporary file on the guest, in chunks."""
        status, output = self._execute("mktemp", 30)
        path = output.strip()
        if status != 0 or not path.startswith("/"):
            raise VmError(f"VM {self.name}: mktemp failed: {output.strip()!r}")
        encoded_path = shlex.quote(path + ".b64")
        for start in range(0, len(encoded), INLINE_INPUT_CHARS):
            chunk = shlex.quote(encoded[start:start + INLINE_INPUT_CHARS])
            status, output = self._execute(f"printf %s {chunk} >> {encoded_path}", 30)
            if status != 0:
                raise VmError(f"VM {self.name}: uploading input failed: {output.strip()}")
        status, output = self._execute(
            f"base64 -d < {encoded_path} > {shlex.quote(path)}; rm -f -- {encoded_path}", 60)
        if status != 0:
            raise VmError(f"VM {self.name}: decoding uploaded input failed: {output.strip()}")
        return path

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
