"""Every bad input of ``vpn-bench analysis`` (issue 13): one row each, checked by
tests/bad_input.py (exit 2, one ``error:`` line, no traceback, nothing on stdout, the
scratch tree -- input and working directory -- unchanged). Bounded failure reasons last."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from analysis.dataset import MAX_REASON_CHARS
from analysis.importers.records import load_records
from tests.analysis import record_factory as rf
from tests.analysis.test_cli import small_run
from tests.bad_input import Case, Setup, check_case, params, row

NON_UTF8 = os.fsdecode(b"run\xff")


def results(name: str = "results/run1") -> Setup:
    def setup(tmp: Path) -> None:
        small_run(tmp / "scratch")
        (tmp / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp / "scratch" / "run1").rename(tmp / name)
        (tmp / "scratch").rmdir()
    return setup


def edited_manifest(edit: Callable[[dict[str, Any]], object]) -> Setup:
    def setup(tmp: Path) -> None:
        results()(tmp)
        path = tmp / "results" / "run1" / "manifest.json"
        document = json.loads(path.read_text())
        edit(document)
        path.write_text(json.dumps(document))
    return setup


def manifest_bytes(transform: Callable[[bytes], bytes]) -> Setup:
    def setup(tmp: Path) -> None:
        results()(tmp)
        path = tmp / "results" / "run1" / "manifest.json"
        path.write_bytes(transform(path.read_bytes()))
    return setup


def made(path: str, *, file: bool = False, mode: int = 0o755) -> Setup:
    def setup(tmp: Path) -> None:
        if file:
            (tmp / path).write_text("x")
        else:
            (tmp / path).mkdir(parents=True)
            (tmp / path).chmod(mode)
    return setup


def with_link(name: str, target: str, base: Setup | None = None) -> Setup:
    def setup(tmp: Path) -> None:
        (base or results())(tmp)
        (tmp / name).symlink_to(target.replace("{tmp}", str(tmp)))
    return setup


def both(*setups: Setup) -> Setup:
    def setup(tmp: Path) -> None:
        for each in setups:
            each(tmp)
    return setup


A = "analysis {tmp}/results"
ANALYSIS = [
    row("no-argument", "analysis", "Missing argument"),
    row("unknown-option", f"{A} --bogus", "No such option: --bogus"),
    row("input-empty-path", ("analysis", "", "--out", "{tmp}/out"), "RESULTS_DIR ''"),
    row("out-empty-path", ("analysis", "{tmp}/results", "--out", ""), "--out ''",
        setup=results()),
    row("input-missing", "analysis {tmp}/none", "no such directory"),
    row("input-a-file", "analysis {tmp}/file", "not a directory", setup=made("file", file=True)),
    row("input-empty", "analysis {tmp}/empty --out {tmp}/out", "no benchmark results found",
        setup=made("empty")),
    row("format-unknown", f"{A} --format csv --out {{tmp}}/out", "valid choices", setup=results()),
    row("out-equal-to-input", f"{A} --out {{tmp}}/results", "inside the input",
        setup=results()),
    row("out-inside-input", f"{A} --out {{tmp}}/results/run1/analysis", "inside the input",
        setup=results()),
    row("out-inside-through-symlink", f"{A} --out {{tmp}}/alias/out", "inside the input",
        setup=with_link("alias", "{tmp}/results")),
    row("default-out-inside-input", "analysis .", "inside the input", "--out"),
    row("out-proc", f"{A} --out /proc/nosuch/out", "--out /proc/nosuch/out", "writable",
        setup=results()),
    row("out-sys", f"{A} --out /sys/vpn-bench-out", "writable", setup=results()),
    row("out-a-file", f"{A} --out {{tmp}}/file", "{tmp}/file is not a directory",
        setup=both(results(), made("file", file=True))),
    row("out-symlink-loop", f"{A} --out {{tmp}}/loop/out", "symlink loop",
        setup=with_link("loop", "{tmp}/loop")),
    row("out-root-owned", f"{A} --out {{tmp}}/root-owned/out", "Permission denied",
        setup=both(results(), made("root-owned")), as_user=True),
    row("input-name-non-utf8", f"analysis {{tmp}}/{NON_UTF8} --out {{tmp}}/out", "not UTF-8",
        setup=results(NON_UTF8)),
    row("run-dir-name-non-utf8", f"{A} --out {{tmp}}/out", "not UTF-8",
        setup=results(f"results/{NON_UTF8}")),
    row("manifest-truncated", f"{A} --out {{tmp}}/out", "manifest.json",
        setup=manifest_bytes(lambda data: data[: len(data) // 2])),
    row("manifest-non-utf8", f"{A} --out {{tmp}}/out", "manifest.json",
        setup=manifest_bytes(lambda data: data + b"\xff")),
    row("manifest-unreadable", f"{A} --out {{tmp}}/out", "manifest.json",
        setup=with_link("results/run2/manifest.json", "/proc/self/mem",
                        both(results(), made("results/run2")))),
    row("manifest-future-schema", f"{A} --out {{tmp}}/out", "schema",
        setup=edited_manifest(lambda m: m.update(schema_version=3))),
    row("record-outside-run", f"{A} --out {{tmp}}/out", "'../../../etc/passwd'", "outside",
        setup=edited_manifest(lambda m: m.update(records=["../../../etc/passwd"]))),
    row("record-missing", f"{A} --out {{tmp}}/out", "missing",
        setup=edited_manifest(lambda m: m.update(records=["internal/x/rep0/tcp/a-b.json"]))),
]


@pytest.mark.parametrize("case", params(ANALYSIS))
def test_bad_input_is_one_line_exit_2_nothing_created(case: Case) -> None:
    check_case(case)


def test_a_huge_failure_reason_is_bounded(tmp_path: Path) -> None:
    """A record's error can be any size; what the tables and the report embed is not."""
    huge = "x" * (50 * MAX_REASON_CHARS)
    rf.write_run(tmp_path / "run1", [rf.tcp("wg", rf.RING[0], 100),
                                     rf.failed("wg", rf.RING[1], "tcp", huge)])
    reasons = [r for r in load_records(tmp_path).outcomes["reason"].to_list() if r]
    assert len(reasons) == 1
    assert len(reasons[0]) < MAX_REASON_CHARS + 100
    assert reasons[0].startswith("x" * MAX_REASON_CHARS)
    assert f"{len(huge)} characters" in reasons[0]


@pytest.mark.parametrize(("args", "words"), [
    ([], "Missing argument"),
    (["{tmp}", "--bogus"], "No such option: --bogus"),
    (["{tmp}", "--out", "{tmp}"], "inside the input"),
])
def test_python_m_analysis_answers_in_one_line(tmp_path: Path, args: list[str],
                                               words: str) -> None:
    from tests.analysis.test_cli import run_cli

    result = run_cli(*(arg.replace("{tmp}", str(tmp_path)) for arg in args), cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and words in result.stderr
    assert list(tmp_path.iterdir()) == []
