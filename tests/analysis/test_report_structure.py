"""The report leads with the answer, ends with the appendix, and is byte-reproducible; the
figure fixes of issue 14 (gaps, n, intervals, scales, captions) hold on real records."""

from __future__ import annotations

import re
from datetime import timedelta
from html.parser import HTMLParser
from pathlib import Path

import plotnine as p9
import polars as pl
import pytest
from PIL import Image

from analysis.figures.builders import FigureContext, n_labels, scatter
from analysis.figures.catalogue import FIGURES, _islands, degradation
from analysis.figures.render import figure_key
from analysis.importers.legacy_metadata import LegacyFacts, hosts_table
from analysis.importers.records import unaccounted_seconds
from analysis.pipeline import analyse, write_outputs
from analysis.report.build import _above_reference_note, generated_at, with_reference
from analysis.report.tables import busy_table, summary_table
from analysis.summary import above_reference, headline_rows, verdicts
from harness.records.models import PhaseTiming, ResultRecord
from harness.vpns.registry import VPNS
from tests.analysis import record_factory as rf

VPNS_IN_DATA = ("internal", "wireguard", "tinc")
SPEED = {"internal": 900.0, "wireguard": 600.0, "tinc": 200.0}


def _records() -> list[ResultRecord]:
    """Two profiles, two repetitions per link (so intervals exist); WireGuard's UDP fails
    everywhere in 'low'; tinc has a single TCP link in 'low' (n = 1)."""
    records: list[ResultRecord] = []
    for profile, factor in (("baseline", 1.0), ("low", 0.5)):
        for vpn in VPNS_IN_DATA:
            links = rf.RING if not (vpn == "tinc" and profile == "low") else rf.RING[:1]
            repetitions = 2 if len(links) > 1 else 1
            for index, link in enumerate(links):
                for repetition in range(repetitions):
                    mbps = SPEED[vpn] * factor + 10 * index + 3 * repetition
                    records.append(rf.tcp(vpn, link, mbps, profile=profile,
                                          repetition=repetition, retransmits=index))
            for link in rf.RING:
                records.append(rf.ping(vpn, link, 0.5 / factor, 0.3, 2.0, 0.1,
                                       profile=profile))
                if vpn == "wireguard" and profile == "low":
                    records.append(rf.failed(vpn, link, "udp", "iperf3: connection refused",
                                             profile=profile))
                else:
                    records.append(rf.udp(vpn, link, 900, SPEED[vpn] * factor, 1.0, 0.1,
                                          profile=profile))
    return records


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("records")
    rf.write_run(root / "run1", _records())
    return root


@pytest.fixture(scope="module")
def outputs(run_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The same input analysed twice, into two directories."""
    first, second = tmp_path_factory.mktemp("out-a"), tmp_path_factory.mktemp("out-b")
    for out in (first, second):
        write_outputs(analyse(run_dir), out, workers=2)
    return first, second


class _Outline(HTMLParser):
    """h2 headings with their ids, and the visible text (no images, no style)."""

    def __init__(self) -> None:
        super().__init__()
        self.headings: list[tuple[str, str]] = []
        self.text: list[str] = []
        self._in: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._in.append(tag)
        if tag == "style":
            self._skip += 1
        if tag == "h2":
            self.headings.append((dict(attrs).get("id") or "", ""))

    def handle_endtag(self, tag: str) -> None:
        if tag == "style":
            self._skip -= 1
        if self._in:
            self._in.pop()

    def handle_data(self, data: str) -> None:
        if self._skip:
            return
        self.text.append(data)
        if self._in and self._in[-1] == "h2" and self.headings:
            anchor, title = self.headings[-1]
            self.headings[-1] = (anchor, title + data)


def _outline(report: Path) -> _Outline:
    parser = _Outline()
    parser.feed(report.read_text(encoding="utf-8"))
    return parser


def test_the_first_section_is_the_answer_and_the_appendix_is_last(
        outputs: tuple[Path, Path]) -> None:
    report = outputs[0] / "report.html"
    outline = _outline(report)
    anchors = [anchor for anchor, _ in outline.headings]
    assert anchors[0] == "summary"
    assert anchors[-1] == "appendix"
    html = report.read_text(encoding="utf-8")
    answer = html[html.index('id="summary"'):html.index('id="about"')]
    # One ranked table with intervals and % of the reference, and the overview figure.
    assert answer.count("<table>") == 1 and 'id="fig-overview"' in answer
    assert "wireguard is fastest on TCP" in answer
    assert re.search(r"wireguard</td><td>[0-9.]+ \[[0-9.]+–[0-9.]+\] · 6[0-9] %", answer)
    # Metadata (versions, sysctls) only in the appendix, after every section.
    assert html.index("Run metadata") > html.index('id="appendix"')
    assert html.index("net.core.rmem_max") > html.index('id="appendix"')


def test_section_text_names_only_vpns_in_the_data(outputs: tuple[Path, Path]) -> None:
    text = " ".join(_outline(outputs[0] / "report.html").text).lower()
    absent = set(VPNS) - set(VPNS_IN_DATA)
    named = {name for name in absent if re.search(rf"\b{re.escape(name)}\b", text)}
    assert named == set()
    assert with_reference("{reference} is dashed", None).startswith("the reference")


def test_outputs_are_byte_reproducible(outputs: tuple[Path, Path]) -> None:
    first, second = outputs
    files = sorted(p.relative_to(first) for p in first.rglob("*") if p.is_file())
    assert {f.suffix for f in files} >= {".csv", ".parquet", ".svg", ".png", ".html"}
    different = [f for f in files if (first / f).read_bytes() != (second / f).read_bytes()]
    assert different == []
    assert sorted(p.relative_to(second) for p in second.rglob("*") if p.is_file()) == files


def test_an_unchanged_input_redraws_no_figure(outputs: tuple[Path, Path], run_dir: Path) -> None:
    first = outputs[0]
    figures = sorted((first / "figures").glob("*.*"))
    before = {p: p.stat().st_mtime_ns for p in figures}
    report = (first / "report.html").read_bytes()
    write_outputs(analyse(run_dir), first, workers=2)
    assert {p: p.stat().st_mtime_ns for p in figures} == before
    assert (first / "report.html").read_bytes() == report


def test_a_figure_key_changes_only_with_its_own_input(run_dir: Path) -> None:
    analysis = analyse(run_dir)
    ctx = FigureContext(analysis.metrics, analysis.dataset.hosts, "records")
    changed = FigureContext(
        analysis.metrics.with_columns(
            pl.when(pl.col("metric") == "ping.rtt_avg_ms").then(pl.col("value") * 2)
            .otherwise(pl.col("value")).alias("value")),
        analysis.dataset.hosts, "records")
    specs = {spec.name: spec for spec in FIGURES}

    def key(context: FigureContext, name: str) -> str:
        return figure_key(specs[name], context.restricted(specs[name].inputs), "code")

    assert key(ctx, "latency") != key(changed, "latency")
    assert key(ctx, "tcp_throughput") == key(changed, "tcp_throughput")
    assert figure_key(specs["tcp_throughput"], ctx.restricted(("tcp.",)), "other code") != \
        key(ctx, "tcp_throughput")


def test_pngs_are_at_least_200_dpi_and_svgs_carry_no_date(outputs: tuple[Path, Path]) -> None:
    figures = outputs[0] / "figures"
    for png in figures.glob("*.png"):
        dpi = Image.open(png).info["dpi"]
        assert min(dpi) >= 199, (png.name, dpi)
    for svg in figures.glob("*.svg"):
        assert "<dc:date>" not in svg.read_text(encoding="utf-8")


def test_report_has_print_styles_and_no_height_limited_scroll_box(
        outputs: tuple[Path, Path]) -> None:
    html = (outputs[0] / "report.html").read_text(encoding="utf-8")
    assert "@media print" in html
    assert "max-height" not in html
    assert "iperf3: connection refused" in html  # the failures table is there in full


def test_source_date_epoch_is_the_only_timestamp() -> None:
    assert generated_at({}) is None
    assert generated_at({"SOURCE_DATE_EPOCH": "1767225600"}) == "2026-01-01T00:00:00+00:00"
    assert generated_at({"SOURCE_DATE_EPOCH": "not a number"}) is None


def test_degradation_breaks_lines_at_gaps_and_marks_all_failed_cells(run_dir: Path) -> None:
    rows = pl.DataFrame({"vpn": ["a", "a", "a", "b", "b"],
                         "panel": ["p"] * 5,
                         "profile": ["baseline", "medium", "high", "baseline", "low"]})
    lines = _islands(rows, ["baseline", "low", "medium", "high"])
    ids = dict(zip(zip(lines["vpn"], lines["profile"], strict=True), lines["line"],
                   strict=True))
    assert ids[("a", "baseline")] != ids[("a", "medium")] == ids[("a", "high")]
    assert ids[("b", "baseline")] == ids[("b", "low")]

    analysis = analyse(run_dir)
    spec = next(s for s in FIGURES if s.name == "degradation")
    ctx = FigureContext(analysis.metrics, analysis.dataset.hosts, "records").restricted(
        spec.inputs)
    plot = degradation(ctx)
    assert plot is not None
    crosses = [layer for layer in plot.layers if layer.geom.aes_params.get("shape") == "x"]
    assert len(crosses) == 1
    marked = crosses[0].geom.data
    assert set(zip(marked["vpn"].astype(str), marked["profile"].astype(str),
                   strict=True)) == {("wireguard", "low")}
    assert any(isinstance(layer.geom, p9.geom_errorbar) for layer in plot.layers)


def test_single_measurements_are_labelled() -> None:
    labels = n_labels(pl.DataFrame({"n": [1, 3]}))
    assert labels["n_label"].to_list() == ["n=1!", "n=3"]
    assert labels["single"].to_list() == [True, False]


def test_retransmit_scatter_starts_at_zero_on_a_shared_window_axis() -> None:
    rows = []
    for profile in ("baseline", "low"):
        for vpn, cwnd in (("a", 100_000.0), ("b", 100_060.0)):
            rows += [(vpn, profile, "tcp", "tcp.max_cwnd_bytes", "all", cwnd, 3),
                     (vpn, profile, "tcp", "tcp.retransmit_rate_pct", "all", 0.5, 3)]
    metrics = pl.DataFrame(rows, schema=["vpn", "profile", "test", "metric", "link", "value",
                                         "n"], orient="row")
    plot = scatter(FigureContext(metrics, ("h",)), "tcp.max_cwnd_bytes",
                   "tcp.retransmit_rate_pct", "t", "x", "y", x_scale=1 / 1024, shared_x=True)
    assert plot is not None
    figure = plot.draw()
    for axes in figure.axes:
        low, high = axes.get_xlim()
        assert low <= 0 < 97 < high  # 0.06 KiB apart is drawn as a hair, not the whole axis
        assert axes.get_ylim()[0] <= 0


def test_summary_ranks_vpns_with_intervals_and_share_of_reference(run_dir: Path) -> None:
    rows = headline_rows(analyse(run_dir).metrics)
    tcp = rows.filter(pl.col("metric") == "tcp.throughput_mbps",
                      pl.col("profile") == "baseline").sort("rank")
    assert tcp["vpn"].to_list() == ["internal", "wireguard", "tinc"]
    assert tcp["lo"].null_count() == 0 and (tcp["lo"] <= tcp["value"]).all()
    wireguard = tcp.row(1, named=True)
    assert wireguard["pct"] == pytest.approx(100 * wireguard["value"] / tcp["value"][0])
    found = verdicts(rows)
    assert [v.leader for v in found] == ["wireguard", "wireguard"]
    assert found[0].separated is True  # 600 vs 200 Mbit/s with tight intervals
    table = summary_table(rows, {("tinc", "low")})
    assert table is not None
    assert table.rows[-1][:3] == ("low", "3", "tinc (busy host)")


def test_busy_cells_are_listed_only_when_flagged() -> None:
    outcomes = pl.DataFrame({"vpn": ["wg", "wg"], "profile": ["baseline"] * 2,
                             "test": ["tcp", "ping"], "link": ["a->b", "a->b"],
                             "sample": ["0", "0"], "ok": [True, True]})
    metrics = pl.DataFrame({"vpn": ["wg"], "profile": ["baseline"], "test": ["all"],
                            "metric": ["host.busy_pct"], "link": ["all"], "value": [50.0]})
    assert busy_table(outcomes, metrics) is None  # no column: nothing to say
    assert busy_table(outcomes.with_columns(pl.lit(False).alias("busy")), metrics) is None
    table = busy_table(outcomes.with_columns(pl.Series("busy", [True, False])), metrics)
    assert table is not None
    assert table.rows == (("wg", "baseline", "tcp", "a->b", "1", "50.00 %"),)


def test_legacy_captions_name_the_retry_steps() -> None:
    specs = {spec.name: spec for spec in FIGURES}
    for name in ("reconnect_bringup", "reconnect_per_node"):
        assert "1-second" in specs[name].caption_for("legacy")
        assert "1-second" not in specs[name].caption_for("records")


def test_the_hosts_table_says_when_the_input_has_no_hardware_file() -> None:
    facts = LegacyFacts(root="/x", ring=("lom", "yuki"), vpns=("Wireguard",))
    table = hosts_table(facts, None)
    assert table is not None and "no General/hardware.json" in table.note
    facts.software[("lom", "system")] = "Linux lom 6.1.0 #1 SMP x86_64"
    table = hosts_table(facts, None)
    assert table is not None and table.rows[0][0] == "lom" and "test files" in table.note


def test_unaccounted_time_is_the_wall_span_minus_the_booked_phases() -> None:
    start = rf.T0
    phases = [
        PhaseTiming(phase="setup", vpn="wg", profile="baseline", started_at=start,
                       duration_s=10.0),
        PhaseTiming(phase="benchmark", vpn="wg", profile="baseline",
                       started_at=start + timedelta(seconds=40), duration_s=60.0),
        PhaseTiming(phase="benchmark", vpn="tinc", profile="baseline",
                       started_at=start + timedelta(seconds=100), duration_s=5.0),
        PhaseTiming(phase="install", vpn=None, profile=None, started_at=start,
                       duration_s=500.0),
    ]
    # wg: span 0..100 s, 70 s booked -> 30 s nobody accounted for; tinc: no gap.
    assert unaccounted_seconds(phases) == {"wg": pytest.approx(30.0)}


def _headline_metrics(cells: dict[tuple[str, str], float]) -> pl.DataFrame:
    """link=all rows of (vpn, metric) → value in profile 'medium', with tight intervals."""
    return pl.DataFrame(
        [(vpn, "medium", metric.split(".")[0], metric, "all", value, 3, value * 0.9,
          value * 1.1) for (vpn, metric), value in cells.items()],
        schema=["vpn", "profile", "test", "metric", "link", "value", "n", "ci_low",
                "ci_high"], orient="row")


def test_percent_of_reference_only_for_throughput_with_a_caveat_above_100() -> None:
    """RTT and loss are never shown as a % of the reference (5 ms over 0.3 ms is not
    '1667 %'); a throughput above the reference's gets a note saying why."""
    metrics = _headline_metrics({
        ("internal", "tcp.throughput_mbps"): 100.0, ("headscale", "tcp.throughput_mbps"): 140.0,
        ("hyprspace", "tcp.throughput_mbps"): 50.0,
        ("internal", "ping.rtt_avg_ms"): 0.3, ("hyprspace", "ping.rtt_avg_ms"): 5.0,
        ("headscale", "ping.rtt_avg_ms"): 1.0,
        ("internal", "ping.loss_pct"): 0.6, ("hyprspace", "ping.loss_pct"): 10.0,
        ("headscale", "ping.loss_pct"): 0.0,
    })
    rows = headline_rows(metrics)
    pct = {(r["vpn"], r["metric"]): r["pct"] for r in rows.iter_rows(named=True)}
    assert pct[("headscale", "tcp.throughput_mbps")] == pytest.approx(140.0)
    assert pct[("hyprspace", "ping.rtt_avg_ms")] is None
    assert pct[("hyprspace", "ping.loss_pct")] is None
    table = summary_table(rows, set())
    assert table is not None
    hyprspace = next(row for row in table.rows if row[2] == "hyprspace")
    assert hyprspace[3].endswith("· 50 %")  # TCP
    assert "%" not in hyprspace[4] and "%" not in hyprspace[5]  # RTT, loss
    above = above_reference(rows)
    assert [(a.vpn, a.profile, round(a.pct)) for a in above] == [("headscale", "medium", 140)]
    note = _above_reference_note(above)
    assert "headscale TCP 140 % (medium)" in note and "measured lower" in note


def test_how_to_read_explains_intervals_once(outputs: tuple[Path, Path]) -> None:
    """The whisker/n explanation lives in one place, not in every caption and intro."""
    html = (outputs[0] / "report.html").read_text(encoding="utf-8")
    assert html.count("a single measurement") == 1
    assert html.count("95 % confidence interval") <= 3  # how to read, summary, overview
    assert "of the reference without VPN" not in html
