"""The machinery of the bad-input tables (tests/harness/test_bad_input.py,
tests/analysis/test_bad_input.py): one :class:`Case` per row, one check for every row.

A row is the argv after ``vpn-bench``, the damaged files it needs, and the words its one
line of error must contain. :func:`check_case` runs the real entry point
(``harness.cli.app.main``) in-process in a scratch directory (also the working directory,
so default outputs land there) and asserts the promise of the README: exit code 2, exactly
one line on stderr starting with ``error:``, nothing on stdout, no traceback, and the
scratch tree unchanged (hashed before and after: nothing created, changed or removed).

``{tmp}`` in argv and in the expected words is replaced by the scratch directory. Rows with
``as_user=True`` run as ``nobody`` in a subprocess (permissions mean nothing to root); they
are skipped where that is impossible.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import io
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
Setup = Callable[[Path], None]


def nothing(_tmp: Path) -> None:
    """No files needed."""


@dataclass(frozen=True)
class Case:
    """One bad input: ``vpn-bench <argv>`` after ``setup(tmp)`` must fail with ``words``."""

    id: str
    argv: tuple[str, ...]
    words: tuple[str, ...]
    setup: Setup = nothing
    #: Environment variables for this row (e.g. a PATH without some VPN's binary).
    env: dict[str, str] = field(default_factory=dict)
    #: Run as an unprivileged user (for permission cases); needs root to switch.
    as_user: bool = False


def row(id: str, argv: str | tuple[str, ...], *words: str, setup: Setup = nothing,
        env: dict[str, str] | None = None, as_user: bool = False) -> Case:
    """A table row; ``argv`` as one string is split on spaces (no quoting needed)."""
    args = tuple(argv.split(" ")) if isinstance(argv, str) else argv
    return Case(id, args, words, setup, env or {}, as_user)


def params(cases: list[Case]) -> list[object]:
    ids = [case.id for case in cases]
    duplicates = {i for i in ids if ids.count(i) > 1}
    assert not duplicates, f"duplicate row ids: {duplicates}"
    return [pytest.param(case, id=case.id) for case in cases]


def tree_state(root: Path) -> dict[str, str]:
    """Every path below ``root`` with its type, mode and content hash (symlinks unfollowed)."""
    state: dict[str, str] = {}
    for dirpath, dirnames, filenames in os.walk(os.fsencode(root)):
        for name in [*dirnames, *filenames]:
            path = os.path.join(dirpath, name)
            info = os.lstat(path)
            rel = os.fsdecode(os.path.relpath(path, os.fsencode(root)))
            if os.path.islink(path):
                state[rel] = "link " + os.fsdecode(os.readlink(path))
            elif os.path.isdir(path):
                state[rel] = f"dir {info.st_mode:o}"
            else:
                try:
                    with open(path, "rb") as handle:
                        digest = hashlib.sha256(handle.read()).hexdigest()
                except OSError as error:
                    digest = f"unreadable {error.errno}"
                state[rel] = f"file {info.st_mode:o} {digest}"
    return state


def _expand(text: str, tmp: Path) -> str:
    return text.replace("{tmp}", str(tmp))


@dataclass(frozen=True)
class Outcome:
    code: int
    stdout: str
    stderr: str


def _run_in_process(argv: list[str], cwd: Path, env: dict[str, str]) -> Outcome:
    from harness.cli.app import main

    out, err = io.StringIO(), io.StringIO()
    saved_env = {key: os.environ.get(key) for key in env}
    saved_argv, saved_cwd = sys.argv, Path.cwd()
    os.environ.update(env)
    sys.argv = ["vpn-bench", *argv]
    os.chdir(cwd)
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                main()
                code = 0
            except SystemExit as stop:
                code = stop.code if isinstance(stop.code, int) else 1
    finally:
        os.chdir(saved_cwd)
        sys.argv = saved_argv
        for key, value in saved_env.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    return Outcome(code, out.getvalue(), err.getvalue())


@functools.cache
def user_python() -> list[str] | None:
    """A command running Python as ``nobody`` with this checkout's harness importable, or
    None (not root, no setpriv, or no interpreter ``nobody`` may execute)."""
    if os.geteuid() != 0 or shutil.which("setpriv") is None:
        return None
    site = [p for p in sys.path if p.endswith("site-packages")]
    path = os.pathsep.join([str(REPO), *site])
    for python in (sys.executable, "/usr/bin/python3"):
        command = ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups", "env",
                   f"PYTHONPATH={path}", python]
        probe = subprocess.run([*command, "-c", "import harness.cli.app, analysis.cli"],
                               capture_output=True, cwd="/", timeout=60)
        if probe.returncode == 0:
            return command
    return None


def _run_as_user(argv: list[str], cwd: Path, env: dict[str, str]) -> Outcome:
    command = user_python()
    if command is None:
        pytest.skip("needs root, setpriv and a Python that nobody can run")
    result = subprocess.run([*command, "-m", "harness", *argv], capture_output=True,
                            text=True, cwd=cwd, env={**os.environ, **env}, timeout=120)
    return Outcome(result.returncode, result.stdout, result.stderr)


@contextlib.contextmanager
def scratch(as_user: bool) -> Iterator[Path]:
    """A scratch directory; one ``nobody`` can enter for ``as_user`` rows."""
    path = Path(tempfile.mkdtemp(prefix="vpb-bad-input-"))
    if as_user:
        path.chmod(0o755)
    try:
        yield path
    finally:
        for dirpath, dirnames, _files in os.walk(path):
            for name in dirnames:  # a test may have made a directory unreadable
                with contextlib.suppress(OSError):
                    os.chmod(os.path.join(dirpath, name), 0o755)
        shutil.rmtree(path, ignore_errors=True)


def check_case(case: Case) -> None:
    """Run one row and assert the bad-input promise."""
    # Already unprivileged: the in-process run shows the same.
    as_user = case.as_user and os.geteuid() == 0
    with scratch(as_user) as tmp:
        work = tmp / "cwd"
        work.mkdir()
        if as_user:
            work.chmod(0o755)
        case.setup(tmp)
        before = tree_state(tmp)
        argv = [_expand(arg, tmp) for arg in case.argv]
        env = {key: _expand(value, tmp) for key, value in case.env.items()}
        runner = _run_as_user if as_user else _run_in_process
        outcome = runner(argv, work, env)
        lines = [line for line in outcome.stderr.splitlines() if line.strip()]
        assert outcome.code == 2, f"exit {outcome.code}: {outcome.stderr}{outcome.stdout}"
        assert "Traceback" not in outcome.stderr, outcome.stderr
        assert len(lines) == 1, f"expected one line, got: {outcome.stderr!r}"
        assert lines[0].startswith(("error: ", "configuration error: ")), lines[0]
        assert outcome.stdout == "", outcome.stdout
        for word in case.words:
            assert _expand(word, tmp) in lines[0], f"{word!r} not in {lines[0]!r}"
        assert tree_state(tmp) == before, "the command created or changed files"
