"""`vpn-bench compare`: changes between runs, their intervals and significance, bad input.

The synthetic runs are real records (the harness's models and RunStore) with numbers
chosen so the change and its Welch interval can be worked out by hand.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest

from analysis.cli import COMPARE_CSV, LEFT_OUT_CSV, compare_command, run_compare
from analysis.compare import RunRows, canonical_vpn, compare_runs
from analysis.errors import AnalysisInputError
from analysis.importers.detect import load_dataset
from analysis.metrics import compute_metric_rows
from harness.records.models import ResultRecord
from tests.analysis import record_factory as rf

REPO = Path(__file__).resolve().parents[2]
LOM_YUKI, YUKI_LUNA, LUNA_LOM = rf.RING
T6 = 2.446911851  # t(0.975; 6) from a printed table


def tcp_reps(vpn: str, per_link: dict[tuple[str, str], tuple[float, float]],
             run_id: str) -> list[ResultRecord]:
    return [rf.tcp(vpn, link, mbps, repetition=rep, run_id=run_id)
            for link, values in per_link.items() for rep, mbps in enumerate(values)]


def run_a(root: Path) -> Path:
    """wg at 100/200/300 Mbit/s per link (±5 over two repetitions), internal at 905, ping."""
    records = tcp_reps("wg", {LOM_YUKI: (100, 110), YUKI_LUNA: (200, 210),
                              LUNA_LOM: (300, 310)}, "runA")
    records += tcp_reps("internal", dict.fromkeys(rf.RING, (900, 910)), "runA")
    records += [rf.ping("wg", link, 1.0, 0.5, 2.0, 0.1, run_id="runA") for link in rf.RING]
    return rf.write_run(root / "runA", records, run_id="runA")


def run_b(root: Path) -> Path:
    """wg about halved with the same spread; internal unchanged; one failed wg attempt;
    nebula only here; no ping."""
    records = tcp_reps("wg", {LOM_YUKI: (50, 60), YUKI_LUNA: (100, 110),
                              LUNA_LOM: (150, 160)}, "runB")
    records += tcp_reps("internal", dict.fromkeys(rf.RING, (900, 910)), "runB")
    records += tcp_reps("nebula", dict.fromkeys(rf.RING, (400, 410)), "runB")
    records.append(rf.failed("wg", LUNA_LOM, "tcp", "iperf3: timeout", repetition=2,
                             run_id="runB"))
    return rf.write_run(root / "runB", records, run_id="runB")


def one(table: pl.DataFrame, vpn: str, metric: str, test: str | None = None,
        profile: str = "baseline") -> dict[str, object]:
    rows = table.filter(pl.col("vpn") == vpn, pl.col("metric") == metric,
                        pl.col("profile") == profile)
    if test is not None:
        rows = rows.filter(pl.col("test") == test)
    assert rows.height == 1, rows
    return rows.row(0, named=True)


@pytest.fixture()
def two_runs(tmp_path: Path) -> tuple[Path, Path]:
    return run_a(tmp_path / "in"), run_b(tmp_path / "in")


def test_a_halved_throughput_is_a_decrease_beyond_noise(two_runs: tuple[Path, Path]) -> None:
    runs = [RunRows(p.name, compute_metric_rows(load_dataset(p))) for p in two_runs]
    table = compare_runs(runs).table
    wg = one(table, "wg", "tcp.throughput_mbps")
    # A: link means 105, 205, 305 → 205, se² = 3 × (50/2) / 9; B: 55, 105, 155 → 105, same
    # se². Δ = −100, se = √(150/9), Welch df = 6.
    half = T6 * math.sqrt(150 / 9)
    assert wg["baseline_value"] == pytest.approx(205.0) and wg["value"] == pytest.approx(105.0)
    assert wg["change"] == pytest.approx(-100.0)
    assert wg["change_low"] == pytest.approx(-100.0 - half)
    assert wg["change_high"] == pytest.approx(-100.0 + half)
    assert wg["change_pct"] == pytest.approx(-100 * 100 / 205)
    assert wg["beyond_noise"] is True and wg["verdict"] == "decrease"
    assert wg["method"] == "welch-t" and wg["p_value"] < 1e-5  # type: ignore[operator]
    internal = one(table, "internal", "tcp.throughput_mbps")
    assert internal["change"] == pytest.approx(0.0)
    assert internal["beyond_noise"] is False and internal["verdict"] == "within noise"
    # ranked: the clear decrease comes before every change within noise
    verdicts = table["verdict"].to_list()
    assert verdicts.index("decrease") < verdicts.index("within noise")
    assert table.row(0, named=True)["beyond_noise"] is True


def test_success_rate_change_uses_the_wilson_bounds(two_runs: tuple[Path, Path]) -> None:
    runs = [RunRows(p.name, compute_metric_rows(load_dataset(p))) for p in two_runs]
    table = compare_runs(runs).table
    rate = one(table, "wg", "run.success_rate_pct", test="tcp")
    b_rows = compute_metric_rows(load_dataset(two_runs[1])).filter(
        pl.col("vpn") == "wg", pl.col("metric") == "run.success_rate_pct",
        pl.col("test") == "tcp", pl.col("profile") == "baseline")
    b_low = b_rows["ci_low"][0]
    # A: 6 of 6 (upper bound 100 = value), B: 6 of 7 → lower bound Δ − (b − l_b)
    assert rate["change"] == pytest.approx(100 * 6 / 7 - 100)
    assert rate["change_low"] == pytest.approx(rate["change"] - (100 * 6 / 7 - b_low))
    assert rate["method"] == "mover-wilson" and rate["verdict"] == "within noise"


def test_only_the_intersection_is_compared_and_the_rest_is_named(
        two_runs: tuple[Path, Path]) -> None:
    runs = [RunRows(p.name, compute_metric_rows(load_dataset(p))) for p in two_runs]
    comparison = compare_runs(runs)
    assert "nebula" not in comparison.table["vpn"].to_list()
    assert not comparison.table["metric"].str.starts_with("ping.").any()
    left = {(r["kind"], r["name"], r["only_in"]) for r in comparison.left_out.iter_rows(
        named=True)}
    assert ("vpn", "nebula", "runB") in left
    assert ("metric", "ping.rtt_avg_ms", "runA") in left


def test_legacy_names_match_ours() -> None:
    assert canonical_vpn("Wireguard") == canonical_vpn("wireguard") == "wireguard"
    assert canonical_vpn("Internal") == "internal"


def _legacy_variant(legacy_root: Path, target: Path) -> Path:
    """Internal and WireGuard only, WireGuard's baseline TCP sender throughput halved."""
    for name in ("Internal", "Wireguard", "General"):
        shutil.copytree(legacy_root / name, target / name)
    for path in sorted((target / "Wireguard" / "baseline").glob("*_*/tcp_iperf3.json")):
        document = json.loads(path.read_text())
        document["data"]["end"]["sum_sent"]["bits_per_second"] /= 2
        path.write_text(json.dumps(document))
    return target


def test_legacy_dataset_against_a_changed_copy(legacy_root: Path, tmp_path: Path) -> None:
    variant = _legacy_variant(legacy_root, tmp_path / "variant")
    runs = [RunRows("legacy", compute_metric_rows(load_dataset(legacy_root, "legacy"))),
            RunRows("variant", compute_metric_rows(load_dataset(variant, "legacy")))]
    comparison = compare_runs(runs)
    assert set(comparison.table["vpn"]) == {"internal", "wireguard"}
    left_vpns = set(comparison.left_out.filter(pl.col("kind") == "vpn")["name"])
    assert {"nebula", "zerotier", "yggdrasil"} <= left_vpns
    wg = one(comparison.table, "wireguard", "tcp.throughput_mbps")
    assert wg["change_pct"] == pytest.approx(-50.0)
    assert wg["verdict"] == "decrease"
    unchanged = comparison.table.filter(pl.col("vpn") == "internal")
    assert (unchanged["change"].abs() < 1e-9).all()
    assert not unchanged["beyond_noise"].fill_null(False).any()
    pct = one(comparison.table, "wireguard", "tcp.throughput_pct_internal")
    assert pct["change_pct"] == pytest.approx(-50.0)


def test_run_compare_writes_table_left_out_and_figure(two_runs: tuple[Path, Path],
                                                      tmp_path: Path) -> None:
    out, _ = run_compare(list(two_runs), tmp_path / "out")
    table = pl.read_csv(out / COMPARE_CSV)
    assert table.height > 0 and "verdict" in table.columns
    assert pl.read_csv(out / LEFT_OUT_CSV).height > 0
    assert (out / "compare.png").stat().st_size > 10_000
    svg = (out / "compare.svg").read_bytes()
    again, _ = run_compare(list(two_runs), tmp_path / "again")
    assert (again / COMPARE_CSV).read_bytes() == (out / COMPARE_CSV).read_bytes()
    assert (again / "compare.svg").read_bytes() == svg


@pytest.mark.parametrize("case", ["one run", "same twice", "missing", "out inside input",
                                  "bad format"])
def test_bad_input_writes_nothing(case: str, two_runs: tuple[Path, Path],
                                  tmp_path: Path) -> None:
    a, b = two_runs
    out = tmp_path / "out"
    runs, fmt = {"one run": ([a], "auto"), "same twice": ([a, a.parent / "runA"], "auto"),
                 "missing": ([a, tmp_path / "nope"], "auto"),
                 "out inside input": ([a, b], "auto"), "bad format": ([a, b], "xml")}[case]
    target = a / "cmp" if case == "out inside input" else out
    with pytest.raises(AnalysisInputError):
        run_compare(runs, target, fmt)
    assert not target.exists()


def test_cli_prints_the_ranked_table_and_exits_2_on_bad_input(
        two_runs: tuple[Path, Path], tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    a, b = two_runs
    good = subprocess.run([sys.executable, "-m", "harness", "compare", str(a), str(b)],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert good.returncode == 0, good.stderr
    assert "decrease" in good.stdout and "beyond noise" in good.stdout
    assert "vpn only in runB: nebula" in good.stdout
    assert (tmp_path / "results" / "compare" / "runA-vs-runB" / COMPARE_CSV).is_file()
    bad = subprocess.run([sys.executable, "-m", "harness", "compare", str(a), str(a)],
                         cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert bad.returncode == 2
    assert bad.stderr.strip().count("\n") == 0 and "same directory" in bad.stderr
    assert "Traceback" not in bad.stderr


def test_compare_figure_is_saved_like_every_other_figure(two_runs: tuple[Path, Path],
                                                          tmp_path: Path) -> None:
    """No date, no creator/software string and fixed ids: two runs into two dirs give the
    same bytes for PNG and SVG."""
    first, _ = run_compare(list(two_runs), tmp_path / "one")
    second, _ = run_compare(list(two_runs), tmp_path / "two")
    for name in ("compare.png", "compare.svg"):
        assert (first / name).read_bytes() == (second / name).read_bytes()
    svg = (first / "compare.svg").read_text()
    assert "<dc:date>" not in svg and "Matplotlib v" not in svg
    assert b"Software" not in (first / "compare.png").read_bytes()


def test_unwritable_out_is_refused_before_the_runs_are_loaded(two_runs: tuple[Path, Path],
                                                              tmp_path: Path) -> None:
    """--out is checked first, as `analysis` does: an empty run directory would fail on
    loading, but the error names the output place."""
    a, _ = two_runs
    empty = tmp_path / "empty"
    empty.mkdir()
    blocker = tmp_path / "file"
    blocker.write_text("not a directory\n")
    with pytest.raises(AnalysisInputError, match=r"^--out .* is not a directory"):
        run_compare([a, empty], blocker / "out")
    with pytest.raises(AnalysisInputError, match="no benchmark results"):
        run_compare([a, empty], tmp_path / "fine")
    assert not (tmp_path / "fine").exists()


def test_compare_help_line_is_one_sentence() -> None:
    """The top-level --help shows the docstring's first line: a complete short sentence."""
    first = (compare_command.__doc__ or "").splitlines()[0]
    assert first.endswith(".") and len(first) <= 80
