"""The report in a real headless Chromium: it loads, every figure renders, it is not blank."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from PIL import Image

from analysis.cli import run_analysis
from tests.analysis import record_factory as rf
from tests.analysis.chromium import PageCheck, check_page, find_chromium

CHROMIUM = find_chromium()
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed")


def load(report: Path) -> PageCheck:
    assert CHROMIUM is not None
    return check_page(CHROMIUM, report)


def assert_not_blank(png: bytes) -> None:
    image = Image.open(io.BytesIO(png)).convert("L")
    assert image.width >= 1000 and image.height >= 1000
    histogram = image.histogram()
    non_white = sum(histogram[:240]) / (image.width * image.height)
    assert non_white > 0.02, f"screenshot is nearly blank ({non_white:.1%} non-white)"
    assert len([count for count in histogram if count]) > 20  # text, lines and colours


def assert_all_figures_rendered(check: PageCheck, figures_dir: Path) -> None:
    expected = {p.stem for p in figures_dir.glob("*.png")}
    assert {image["alt"] for image in check.images} == expected
    for image in check.images:
        assert image["complete"], image
        assert image["width"] > 0 and image["height"] > 0, image


def test_legacy_report_renders_in_chromium(legacy_output: Path) -> None:
    report = legacy_output / "report.html"
    html = report.read_text()
    assert not re.search(r"""<(img|script|link)[^>]+(src|href)=["']https?:""", html)
    check = load(report)
    assert check.title == "vpn-bench analysis"
    assert len(check.images) >= 16
    assert_all_figures_rendered(check, legacy_output / "figures")
    assert_not_blank(check.screenshot_png)
    for needle in ("Run metadata", "Success rate and failures", "list index out of range",
                   "6.12.57", "Metric definitions", "how", "spike ratio"):
        assert needle in html, needle


def test_records_report_renders_in_chromium(tmp_path: Path) -> None:
    records = [rf.tcp(vpn, link, mbps) for vpn, mbps in (("internal", 900), ("wg", 700))
               for link in rf.RING]
    records += [rf.ping(vpn, link, 1.0, 0.5, 3.0, 0.2) for vpn in ("internal", "wg")
                for link in rf.RING]
    records.append(rf.failed("wg", rf.RING[0], "udp", "iperf3: server busy"))
    rf.write_run(tmp_path / "results" / "run1", records, sessions=[rf.session("wg", 1.5)],
                 phases=[rf.phase("benchmark", 60, "wg", "baseline")])
    out = run_analysis(tmp_path / "results", tmp_path / "out")
    check = load(out / "report.html")
    assert len(check.images) >= 4
    assert_all_figures_rendered(check, out / "figures")
    assert_not_blank(check.screenshot_png)
    html = (out / "report.html").read_text()
    assert "iperf3: server busy" in html
    assert "net.core.rmem_max" in html  # run metadata: sysctls
