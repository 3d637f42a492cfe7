"""A scripted, in-memory Host for tests of logic that needs no machine (the run loop, adapters).

Nothing here starts a process, opens a socket or touches a file of the real machine, so the
fake needs no root. The test decides every answer:

* ``run()`` records a :class:`Call` and asks a *handler* for the answer. A handler is any
  function ``Call -> Reply | CommandResult``; :class:`Rules` is a ready-made one matching
  argv prefixes, so captured real output (``ping``, ``iperf3 --json``, ``ip -j link show``)
  reaches the real parsers::

      rules = Rules().on("ping", "-c", "1", reply=Reply(stdout=PING_OK))
      rules.on("iperf3", "--client", reply=Reply(stdout=IPERF_JSON))
      rules.on("iperf3", "--client", host="lom", times=1, reply=Reply(returncode=1))
      host = FakeHost("lom", rules)

  The newest matching rule answers (above: lom's first client fails, later ones print the
  JSON); a command no rule matches exits 127 and is listed in ``rules.unmatched``.

* ``start()`` returns a :class:`FakeProcess` that runs until the test says otherwise:
  ``process.exit(1, output="panic: ...")`` now, ``process.exit_after(2, matching=("iperf3",))``
  after the second matching command, or from a rule's reply function at the k-th call
  (``call.fake_host.process("vpn-daemon").exit(1)``). ``on_start`` sees every new process.
* Files live in a dict (``write_file``, ``read_file``, ``make_dir``, ``exists``, ``remove``).
  ``/proc/<pid>/stat`` and ``/proc/<pid>/status`` of a running FakeProcess are made up from
  its ``cpu_ticks`` and ``rss_bytes``, so the CPU sampler works; seed ``/proc/stat`` with
  :meth:`FakeHost.write_file` if host-wide CPU figures matter.
* Every call is kept in a :class:`CallLog` (shared by the hosts of one fake testbed, in the
  order they happened) for assertions.

Time does not pass: ``run()`` returns at once (a ``Reply(timed_out=True)`` reports the
command's own timeout as its duration) and ``wait()`` never blocks. The fake is thread-safe,
because the runner probes and measures several links at once.
"""

from __future__ import annotations

import errno
import itertools
import posixpath
import shlex
import signal as signals
import threading
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Literal

from harness.hosts.base import CommandResult, Host, Process

#: Where a FakeHost keeps its (in-memory) state directory unless told otherwise.
FAKE_STATE_ROOT = PurePosixPath("/var/lib/vpn-bench-fake")

CallKind = Literal["run", "start"]


@dataclass(frozen=True)
class Call:
    """One command asked of a fake host: ``run`` (answered by the handler) or ``start``."""

    seq: int
    host: str
    kind: CallKind
    argv: tuple[str, ...]
    #: The host that received the call, for reply functions with side effects
    #: (``call.fake_host.process("vpn-daemon").exit(1)``).
    fake_host: FakeHost = field(compare=False, hash=False, repr=False)
    input_text: str | None = None
    env: dict[str, str] | None = field(default=None, hash=False)
    #: The ``timeout`` passed to run(); None for start().
    timeout: float | None = None

    def matches(self, *prefix: str) -> bool:
        """True when argv starts with ``prefix``."""
        return self.argv[:len(prefix)] == prefix

    @property
    def command(self) -> str:
        return shlex.join(self.argv)


@dataclass(frozen=True)
class Reply:
    """What a scripted command prints and how it ends; the host adds argv and duration."""

    stdout: str = ""
    stderr: str = ""
    returncode: int = 0
    timed_out: bool = False
    duration_s: float = 0.0

    def result(self, call: Call) -> CommandResult:
        """The CommandResult a real backend would return: a timed-out command was killed
        (SIGKILL) after the call's timeout, which becomes its duration."""
        if self.timed_out:
            returncode = self.returncode or -signals.SIGKILL
            duration = call.timeout if call.timeout is not None else self.duration_s
        else:
            returncode, duration = self.returncode, self.duration_s
        return CommandResult(argv=call.argv, returncode=returncode, stdout=self.stdout,
                             stderr=self.stderr, duration_s=duration,
                             timed_out=self.timed_out)


#: Answers a run() call; :class:`Rules` is one, any function of this type is another.
Handler = Callable[[Call], Reply | CommandResult]


def not_found(call: Call) -> Reply:
    """The default answer to a command nobody scripted: exit 127, naming the command."""
    return Reply(returncode=127,
                 stderr=f"fake host {call.host}: no rule answers `{call.command}`")


@dataclass
class _Rule:
    prefix: tuple[str, ...]
    reply: Reply | Handler
    host: str | None
    when: Callable[[Call], bool] | None
    remaining: int | None

    def applies(self, call: Call) -> bool:
        return (call.matches(*self.prefix)
                and (self.host is None or self.host == call.host)
                and (self.remaining is None or self.remaining > 0)
                and (self.when is None or self.when(call)))


class Rules:
    """A handler made of argv-prefix rules.

    The most recently added rule that matches answers, so a test lays the exceptions
    (a failed first attempt, a host whose pings go unanswered) over a table of normal
    answers. A rule limited to ``times`` answers stops matching once they are used up.
    Commands no rule matches get ``fallback`` (by default exit 127) and are listed in
    :attr:`unmatched`.
    """

    def __init__(self, fallback: Reply | Handler = not_found) -> None:
        self._rules: list[_Rule] = []
        self._fallback = fallback
        self._lock = threading.Lock()
        self.unmatched: list[Call] = []

    def on(
        self,
        *prefix: str,
        reply: Reply | Handler,
        host: str | None = None,
        when: Callable[[Call], bool] | None = None,
        times: int | None = None,
    ) -> Rules:
        """Answer commands starting with ``prefix`` (on ``host`` only, if given, and only
        when ``when(call)``) with ``reply``: a fixed Reply or a function of the call."""
        if times is not None and times < 1:
            raise ValueError(f"times must be at least 1, got {times}")
        with self._lock:
            self._rules.append(_Rule(tuple(prefix), reply, host, when, times))
        return self

    def __call__(self, call: Call) -> Reply | CommandResult:
        with self._lock:
            rule = next((rule for rule in reversed(self._rules) if rule.applies(call)), None)
            if rule is None:
                self.unmatched.append(call)
                reply = self._fallback
            else:
                if rule.remaining is not None:
                    rule.remaining -= 1
                reply = rule.reply
        # Outside the lock: a reply function may run commands of its own.
        return reply if isinstance(reply, Reply) else reply(call)


@dataclass
class _ExitTrigger:
    process: FakeProcess
    remaining: int
    prefix: tuple[str, ...]
    host: str | None
    returncode: int
    output: str

    def counts(self, call: Call) -> bool:
        return call.matches(*self.prefix) and (self.host is None or self.host == call.host)


class CallLog:
    """Every call on a set of fake hosts in the order they happened; the PIDs they hand out;
    the scripted process exits waiting for a number of commands."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._calls: list[Call] = []
        self._seq = itertools.count(1)
        self._pids = itertools.count(40001)
        self._triggers: list[_ExitTrigger] = []

    @property
    def calls(self) -> list[Call]:
        with self._lock:
            return list(self._calls)

    def commands(self, *prefix: str, host: str | None = None) -> list[tuple[str, ...]]:
        """argv of the run() calls starting with ``prefix`` (on ``host``, if given)."""
        return [call.argv for call in self.calls
                if call.kind == "run" and call.matches(*prefix)
                and (host is None or call.host == host)]

    def record(self, host: FakeHost, kind: CallKind, argv: Sequence[str], *,
               input_text: str | None = None, env: Mapping[str, str] | None = None,
               timeout: float | None = None) -> Call:
        with self._lock:
            call = Call(seq=next(self._seq), host=host.name, kind=kind, argv=tuple(argv),
                        fake_host=host, input_text=input_text,
                        env=dict(env) if env is not None else None, timeout=timeout)
            self._calls.append(call)
        return call

    def next_pid(self) -> int:
        with self._lock:
            return next(self._pids)

    def add_trigger(self, trigger: _ExitTrigger) -> None:
        with self._lock:
            self._triggers.append(trigger)

    def answered(self, call: Call) -> None:
        """Count ``call`` (a finished run()) towards the scripted exits."""
        due: list[_ExitTrigger] = []
        with self._lock:
            for trigger in self._triggers:
                if trigger.counts(call):
                    trigger.remaining -= 1
                    if trigger.remaining == 0:
                        due.append(trigger)
            self._triggers = [trigger for trigger in self._triggers if trigger.remaining > 0]
        for trigger in due:
            trigger.process.exit(trigger.returncode, output=trigger.output)


class FakeProcess(Process):
    """A started program that runs until the test ends it (or the harness stops it).

    ``stop()`` and terminating signals end it with ``-signum`` as a real one killed by a
    signal would; ``stop_calls`` and ``signals`` record what the harness did to it.
    """

    def __init__(self, host: FakeHost, name: str, argv: Sequence[str],
                 env: Mapping[str, str] | None, pid: int) -> None:
        self.name = name
        self.host = host
        self.argv = tuple(argv)
        self.env = dict(env) if env is not None else None
        self._pid = pid
        self._lock = threading.Lock()
        self._returncode: int | None = None
        self._output: list[str] = []
        self.stop_calls = 0
        self.signals: list[int] = []
        #: CPU time (clock ticks) and resident memory shown in /proc/<pid>/stat, status.
        self.cpu_ticks = 0
        self.rss_bytes = 8 * 1024 * 1024

    # -- what the test does ------------------------------------------------------------
    def write(self, text: str) -> None:
        """Append to the process's output (its log)."""
        with self._lock:
            self._output.append(text)

    def exit(self, returncode: int = 1, output: str = "") -> None:
        """End the process now with ``returncode``, after printing ``output``. A process
        that already ended keeps its first status."""
        with self._lock:
            if self._returncode is not None:
                return
            if output:
                self._output.append(output)
            self._returncode = returncode

    def exit_after(self, commands: int, *, returncode: int = 1, output: str = "",
                   matching: Sequence[str] = (), host: str | None = None) -> None:
        """Exit once ``commands`` more run() calls starting with ``matching`` (on ``host``,
        if given; any host of the testbed otherwise) have been answered."""
        if commands < 1:
            raise ValueError(f"commands must be at least 1, got {commands}")
        self.host.log.add_trigger(_ExitTrigger(self, commands, tuple(matching), host,
                                               returncode, output))

    @property
    def stopped(self) -> bool:
        """Did the harness call stop() on it?"""
        return self.stop_calls > 0

    # -- Process interface -------------------------------------------------------------
    @property
    def pid(self) -> int:
        return self._pid

    def is_running(self) -> bool:
        return self.returncode() is None

    def returncode(self) -> int | None:
        with self._lock:
            return self._returncode

    def wait(self, timeout: float) -> int | None:
        """Never blocks: time does not pass in the fake."""
        return self.returncode()

    def stop(self, timeout: float = 5.0) -> int | None:
        with self._lock:
            self.stop_calls += 1
        self.exit(-signals.SIGTERM)
        return self.returncode()

    def signal(self, signum: int) -> None:
        with self._lock:
            self.signals.append(signum)
        if signum in (signals.SIGTERM, signals.SIGKILL, signals.SIGINT):
            self.exit(-signum)

    def log_tail(self, lines: int = 40) -> str:
        return "\n".join(self.output().splitlines()[-lines:])

    def output(self) -> str:
        with self._lock:
            return "".join(self._output)

    def __repr__(self) -> str:
        return (f"FakeProcess({self.host.name}/{self.name}, pid={self.pid}, "
                f"returncode={self.returncode()})")


@dataclass(frozen=True)
class FakeFile:
    data: bytes
    mode: int


def _normal(path: PurePosixPath | str) -> PurePosixPath:
    text = str(path)
    if not text.startswith("/"):
        raise ValueError(f"fake host paths must be absolute, got {text!r}")
    return PurePosixPath(posixpath.normpath(text))


class FakeHost(Host):
    """A machine that exists only in memory; see the module docstring."""

    def __init__(
        self,
        name: str,
        handler: Handler | None = None,
        *,
        state_dir: PurePosixPath | None = None,
        programs: Collection[str] | None = None,
        on_start: Callable[[FakeProcess], None] | None = None,
        log: CallLog | None = None,
    ) -> None:
        """``programs``: what which() finds (None: every program, under /usr/bin).
        ``log``: shared with the other hosts of a fake testbed (a new one by default)."""
        self.name = name
        self.handler: Handler = handler if handler is not None else Rules()
        self.state_dir = state_dir or FAKE_STATE_ROOT / name
        self.programs = None if programs is None else frozenset(programs)
        self.on_start = on_start
        self.log = log if log is not None else CallLog()
        self._lock = threading.Lock()
        self._files: dict[PurePosixPath, FakeFile] = {}
        self._directories: dict[PurePosixPath, int] = {PurePosixPath("/"): 0o755}
        self._started: list[FakeProcess] = []

    # -- commands ----------------------------------------------------------------------
    def run(
        self,
        argv: Sequence[str],
        *,
        timeout: float,
        input_text: str | None = None,
        env: Mapping[str, str] | None = None,
    ) -> CommandResult:
        call = self.log.record(self, "run", argv, input_text=input_text, env=env,
                               timeout=timeout)
        answer = self.handler(call)
        result = answer.result(call) if isinstance(answer, Reply) else answer
        self.log.answered(call)
        return result

    def start(
        self,
        argv: Sequence[str],
        *,
        name: str,
        env: Mapping[str, str] | None = None,
    ) -> FakeProcess:
        self.log.record(self, "start", argv, env=env)
        process = FakeProcess(self, name, argv, env, self.log.next_pid())
        with self._lock:
            self._started.append(process)
        if self.on_start is not None:
            self.on_start(process)
        return process

    def processes(self) -> list[Process]:
        return [process for process in self.started if process.is_running()]

    @property
    def started(self) -> list[FakeProcess]:
        """Every process ever started here, oldest first (running or not)."""
        with self._lock:
            return list(self._started)

    def process(self, name: str) -> FakeProcess:
        """The most recently started process called ``name``."""
        for process in reversed(self.started):
            if process.name == name:
                return process
        names = sorted({process.name for process in self.started})
        raise KeyError(f"{self.name}: no process {name!r}; started: {names}")

    @property
    def calls(self) -> list[Call]:
        """This host's calls, oldest first."""
        return [call for call in self.log.calls if call.host == self.name]

    def commands(self, *prefix: str) -> list[tuple[str, ...]]:
        """argv of this host's run() calls starting with ``prefix``."""
        return self.log.commands(*prefix, host=self.name)

    def which(self, binary: str) -> str | None:
        if self.programs is not None and binary not in self.programs:
            return None
        return f"/usr/bin/{binary}"

    # -- files -------------------------------------------------------------------------
    @property
    def files(self) -> dict[PurePosixPath, FakeFile]:
        """A copy of the in-memory filesystem's files."""
        with self._lock:
            return dict(self._files)

    def write_file(self, path: PurePosixPath, content: str | bytes, mode: int = 0o600) -> None:
        target = _normal(path)
        data = content.encode() if isinstance(content, str) else content
        with self._lock:
            if target in self._directories:
                raise IsADirectoryError(errno.EISDIR, "Is a directory", str(target))
            self._add_parents(target)
            self._files[target] = FakeFile(data, mode)

    def read_file(self, path: PurePosixPath) -> bytes:
        target = _normal(path)
        with self._lock:
            file = self._files.get(target)
        if file is not None:
            return file.data
        synthesized = self._proc_file(target)
        if synthesized is not None:
            return synthesized.encode()
        raise FileNotFoundError(errno.ENOENT, f"No such file on fake host {self.name}",
                                str(target))

    def make_dir(self, path: PurePosixPath, mode: int = 0o700) -> None:
        target = _normal(path)
        with self._lock:
            if target in self._files:
                raise FileExistsError(errno.EEXIST, "File exists", str(target))
            self._add_parents(target)
            self._directories.setdefault(target, mode)

    def mode(self, path: PurePosixPath) -> int:
        """Permission bits of a file or directory of the fake filesystem."""
        target = _normal(path)
        with self._lock:
            if target in self._files:
                return self._files[target].mode
            if target in self._directories:
                return self._directories[target]
        raise FileNotFoundError(errno.ENOENT, "No such file", str(target))

    def exists(self, path: PurePosixPath) -> bool:
        target = _normal(path)
        with self._lock:
            if target in self._files or target in self._directories:
                return True
        return self._proc_file(target) is not None

    def remove(self, path: PurePosixPath) -> None:
        target = _normal(path)
        if not target.is_relative_to(self.state_dir):
            raise ValueError(f"{self.name}: refusing to remove {path}: outside {self.state_dir}")
        with self._lock:
            self._files = {p: f for p, f in self._files.items() if not p.is_relative_to(target)}
            self._directories = {p: m for p, m in self._directories.items()
                                 if not p.is_relative_to(target)}

    def _add_parents(self, path: PurePosixPath) -> None:
        for parent in path.parents:
            if parent in self._files:
                raise NotADirectoryError(errno.ENOTDIR, "Not a directory", str(parent))
            self._directories.setdefault(parent, 0o755)

    def _proc_file(self, path: PurePosixPath) -> str | None:
        """/proc/<pid>/stat and /proc/<pid>/status of a running FakeProcess."""
        parts = path.parts
        if len(parts) != 4 or parts[1] != "proc" or not parts[2].isdigit():
            return None
        pid = int(parts[2])
        process = next((p for p in self.started if p.pid == pid and p.is_running()), None)
        if process is None:
            return None
        comm = posixpath.basename(process.argv[0])[:15] if process.argv else process.name
        if parts[3] == "stat":
            # Fields after the command name: state ppid pgrp session tty tpgid flags minflt
            # cminflt majflt cmajflt utime stime ...
            return (f"{pid} ({comm}) S 1 {pid} {pid} 0 -1 4194560 0 0 0 0 "
                    f"{process.cpu_ticks} 0 0 0 20 0 1 0 0 0 0\n")
        if parts[3] == "status":
            return (f"Name:\t{comm}\nState:\tS (sleeping)\nPid:\t{pid}\n"
                    f"VmRSS:\t{process.rss_bytes // 1024} kB\n")
        return None
