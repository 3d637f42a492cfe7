"""The progress lines: user and tool strings are printed as they are (never read as rich
markup), the doubt flags are coloured, and a long error is cut in one place."""

from __future__ import annotations

import io
from datetime import UTC, datetime

from rich.console import Console

from harness.limits import MAX_ERROR_CHARS, shorten
from harness.records.models import Contention, QuietPath, Status
from harness.runner.progress import ProgressReporter, measurement_line
from harness.topology import Link
from harness.workloads.base import Measurement

WHEN = datetime(2026, 1, 1, tzinfo=UTC)


def _failed(error: str, busy: bool) -> Measurement:
    return Measurement(
        link=Link("lom", "yuki"), status=Status.FAILED, started_at=WHEN, ended_at=WHEN,
        error=error,
        contention=Contention(busy=busy, reason="cpu", rule="test rule"),
        quiet_path=QuietPath(idle_rtt_ms=1.0, last_rtt_ms=9.0, probes=3, wait_s=2.5,
                             converged=False))


def test_flags_are_yellow_and_user_text_is_never_markup() -> None:
    line = measurement_line("ping", _failed("[bold]boom[/bold] [red]", busy=True))
    assert line.plain.endswith(
        "[bold]boom[/bold] [red] (host busy, tunnel not back at idle RTT after 2.5s)")
    flag_start = line.plain.index("(host busy")
    assert [(span.start, span.end, span.style) for span in line.spans] == [
        (flag_start, len(line.plain), "yellow")]


def test_the_printed_line_has_no_raw_tags_and_is_coloured() -> None:
    reporter = ProgressReporter(1, live=False)
    out = io.StringIO()
    reporter.console = Console(file=out, force_terminal=True, color_system="standard",
                               width=300)
    reporter.measurement_done("ping", _failed("[x]", busy=True))
    printed = out.getvalue()
    assert "[yellow]" not in printed
    assert "\x1b[33m(host busy" in printed  # yellow
    assert "failed: [x]" in printed


def test_no_flags_no_suffix() -> None:
    measurement = Measurement(link=Link("lom", "yuki"), status=Status.FAILED,
                              started_at=WHEN, ended_at=WHEN, error="e")
    line = measurement_line("ping", measurement)
    assert line.plain == "  ping         lom->yuki    failed: e"
    assert line.spans == []


def test_one_shortening_rule() -> None:
    long = "x" * (MAX_ERROR_CHARS + 7)
    assert shorten(long) == "x" * MAX_ERROR_CHARS + f"... ({MAX_ERROR_CHARS + 7} characters)"
    assert shorten("short") == "short"
    assert shorten(None) == ""
