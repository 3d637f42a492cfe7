"""The command line: outputs on good input, exit code 2 and no output on bad input."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from analysis.cli import run_analysis
from analysis.errors import AnalysisInputError
from tests.analysis import record_factory as rf

REPO = Path(__file__).resolve().parents[2]


def small_run(results: Path) -> Path:
    records = [rf.tcp(vpn, link, mbps) for vpn, mbps in (("internal", 900), ("wg", 700))
               for link in rf.RING]
    records += [rf.ping(vpn, link, 1.0, 0.5, 3.0, 0.2) for vpn in ("internal", "wg")
                for link in rf.RING]
    records.append(rf.failed("wg", rf.RING[0], "udp", "iperf3: timeout"))
    return rf.write_run(results / "run1", records, sessions=[rf.session("wg", 1.5)],
                        phases=[rf.phase("benchmark", 60, "wg", "baseline")])


def run_cli(*args: str, cwd: Path = REPO) -> subprocess.CompletedProcess[str]:
    # PYTHONPATH: this checkout's code, even when cwd is elsewhere.
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.run([sys.executable, "-m", "analysis", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=300)


def test_python_module_writes_everything_to_the_default_out_dir(tmp_path: Path) -> None:
    small_run(tmp_path / "input")
    result = run_cli(str(tmp_path / "input"), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    out = tmp_path / "results" / "analysis" / "input"
    assert not (tmp_path / "input" / "analysis").exists(), "never write into the input"
    for name in ("metrics.csv", "metrics.parquet", "failures.csv", "report.html"):
        assert (out / name).is_file(), name
    assert (out / "figures" / "tcp_throughput.png").is_file()
    assert (out / "figures" / "tcp_throughput.svg").is_file()
    assert "report.html" in result.stdout


def test_a_run_dir_itself_and_an_explicit_out_dir(tmp_path: Path) -> None:
    run_dir = small_run(tmp_path / "results")
    written = run_analysis(run_dir, tmp_path / "elsewhere", "records")
    assert written == tmp_path / "elsewhere"
    assert (written / "metrics.csv").is_file()


@pytest.mark.parametrize(
    ("setup", "args", "message"),
    [
        ("empty", [], "no benchmark results found"),
        ("missing", [], "no such directory"),
        ("records", ["--format", "bogus"], "valid choices: auto, records, legacy"),
        ("records", ["--format", "legacy"], "not a legacy result layout"),
        ("future", [], "unsupported record schema version"),
        ("empty", ["--format", "records"], "no run directory found"),
    ],
)
def test_bad_input_exits_2_with_a_message_and_writes_nothing(
        tmp_path: Path, setup: str, args: list[str], message: str) -> None:
    results = tmp_path / "results"
    if setup == "empty":
        results.mkdir()
    elif setup in ("records", "future"):
        run_dir = small_run(results)
        if setup == "future":
            manifest = json.loads((run_dir / "manifest.json").read_text())
            manifest["schema_version"] = 3
            (run_dir / "manifest.json").write_text(json.dumps(manifest))
    out = tmp_path / "out"
    result = run_cli(str(results), "--out", str(out), *args)
    assert result.returncode == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    assert not out.exists()


def test_mixed_schema_versions_are_named(tmp_path: Path) -> None:
    small_run(tmp_path / "results")  # results/run1 has schema version 2
    old = tmp_path / "results" / "run0"
    rf.write_run(old, [rf.tcp("wg", rf.RING[0], 1, run_id="run0")], run_id="run0")
    manifest = json.loads((old / "manifest.json").read_text())
    manifest["schema_version"] = 0
    (old / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(AnalysisInputError) as error:
        run_analysis(tmp_path / "results", tmp_path / "out")
    assert "run0/manifest.json: schema_version 0" in str(error.value)
    assert "reads schema_version 1, 2" in str(error.value)
    assert not (tmp_path / "out").exists()


def test_a_record_that_does_not_match_its_schema_is_named(tmp_path: Path) -> None:
    run_dir = small_run(tmp_path)
    record = run_dir / json.loads((run_dir / "manifest.json").read_text())["records"][0]
    document = json.loads(record.read_text())
    document["status"] = "exploded"
    record.write_text(json.dumps(document))
    with pytest.raises(AnalysisInputError, match=r"does not match the ResultRecord schema.*"
                                                 r"status"):
        run_analysis(tmp_path / "run1", tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_unknown_extra_fields_are_tolerated_and_reported(tmp_path: Path) -> None:
    run_dir = small_run(tmp_path)
    record = run_dir / json.loads((run_dir / "manifest.json").read_text())["records"][0]
    document = json.loads(record.read_text())
    document["energy_joules"] = 12.5
    document["metrics"]["future_field"] = 1
    record.write_text(json.dumps(document))
    out = run_analysis(tmp_path / "run1", tmp_path / "out")
    report = (out / "report.html").read_text()
    assert "ResultRecord.energy_joules" in report
    assert "ResultRecord.metrics.tcp.future_field" in report


def test_the_command_works_registered_in_a_larger_typer_app(tmp_path: Path) -> None:
    import typer
    from typer.testing import CliRunner

    from analysis.cli import analysis_command

    app = typer.Typer()
    app.command("analysis")(analysis_command)
    app.command("other")(lambda: None)
    empty = tmp_path / "empty"
    empty.mkdir()
    result = CliRunner().invoke(app, ["analysis", str(empty), "--out", str(tmp_path / "o")])
    assert result.exit_code == 2
    assert "no benchmark results found" in result.output
    help_text = CliRunner().invoke(app, ["analysis", "--help"]).output
    assert "--format" in help_text and "--out" in help_text


def test_a_run_without_records_is_bad_input(tmp_path: Path) -> None:
    rf.write_run(tmp_path / "run1", [])
    with pytest.raises(AnalysisInputError, match="contains no test results"):
        run_analysis(tmp_path / "run1", tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_a_run_where_everything_failed_still_reports(tmp_path: Path) -> None:
    records = [rf.failed("wg", link, "tcp", f"no route from {link[0]}")
               for link in rf.RING]
    rf.write_run(tmp_path / "run1", records)
    out = run_analysis(tmp_path / "run1", tmp_path / "out")
    report = (out / "report.html").read_text()
    assert "no route from lom" in report and "no route from luna" in report
    assert "No data for this section" in report
    csv = (out / "metrics.csv").read_text()
    assert "run.success_rate_pct" in csv and "tcp.throughput_mbps" not in csv


def _metrics_frame(out: Path) -> dict[tuple[str, str, str], float]:
    """(vpn, metric, link) -> value from metrics.csv."""
    import csv

    with (out / "metrics.csv").open() as handle:
        return {(row["vpn"], row["metric"], row["link"]): float(row["value"])
                for row in csv.DictReader(handle) if row["profile"] == "baseline"}


def test_schema_1_and_schema_2_runs_give_the_same_metrics(tmp_path: Path) -> None:
    small_run(tmp_path / "v2")
    v1 = rf.downgrade_to_v1(small_run(tmp_path / "v1"))
    document = json.loads((v1 / json.loads((v1 / "manifest.json").read_text())["records"][0])
                          .read_text())
    assert document["schema_version"] == 1 and "parameters" not in document
    assert document["metrics"]["kind"] == "tcp"
    new = run_analysis(tmp_path / "v2", tmp_path / "out2")
    old = run_analysis(tmp_path / "v1", tmp_path / "out1")
    metrics = _metrics_frame(new)
    assert metrics[("wg", "tcp.throughput_mbps", "lom->yuki")] == 700
    assert metrics == _metrics_frame(old)
    report_v2, report_v1 = ((out / "report.html").read_text() for out in (new, old))
    assert "Workload parameters the records were measured with" in report_v2
    assert "duration_s=30 port=5201" in report_v2
    assert "not recorded (schema 1)" in report_v1
    assert "Fields unknown" not in report_v1  # the v1 "kind" tag is understood, not unknown


def test_records_of_an_unknown_test_are_counted_in_a_note_not_dropped_silently(
        tmp_path: Path) -> None:
    run_dir = small_run(tmp_path)
    manifest = json.loads((run_dir / "manifest.json").read_text())
    source = run_dir / manifest["records"][0]
    for index in range(2):
        document = json.loads(source.read_text())
        document.update(test="warp", metrics={"jump_ms": 3.0}, target=f"h{index}")
        rel = f"wg/baseline/rep0/warp/lom-h{index}.json"
        (run_dir / rel).parent.mkdir(parents=True, exist_ok=True)
        (run_dir / rel).write_text(json.dumps(document))
        manifest["records"].append(rel)
    (run_dir / "manifest.json").write_text(json.dumps(manifest))
    out = run_analysis(tmp_path / "run1", tmp_path / "out")
    report = (out / "report.html").read_text()
    assert "tests this analysis does not know were not analysed: warp (2 records)" in report
    assert "warp" not in (out / "metrics.csv").read_text()


def test_a_metric_missing_from_the_catalogue_is_noted_not_fatal(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from harness.workloads.registry import WORKLOADS

    ping = WORKLOADS["ping"]
    original = ping.analysis_values
    monkeypatch.setattr(ping, "analysis_values",
                        lambda metrics: {**original(metrics), "ping.new_thing_ms": 1.0})
    small_run(tmp_path / "results")
    out = run_analysis(tmp_path / "results", tmp_path / "out")
    report = (out / "report.html").read_text()
    assert "not analysed: ping.new_thing_ms (test ping)" in report
    assert "ping.rtt_avg_ms" in (out / "metrics.csv").read_text()
