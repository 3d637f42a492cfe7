"""Live progress for long runs: a rich display on a terminal, plain lines otherwise."""

from __future__ import annotations

from types import TracebackType

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.text import Text

from harness.limits import shorten
from harness.records.models import SessionRecord, Status
from harness.runner.plan import Session
from harness.workloads.base import Measurement
from harness.workloads.registry import WORKLOADS


def _describe(test: str, measurement: Measurement) -> str:
    metrics = measurement.metrics
    if measurement.status is not Status.OK or metrics is None:
        return f"{measurement.status.value}: {shorten(measurement.error)}"
    return WORKLOADS[test].summary(metrics)


def _flags(measurement: Measurement) -> list[str]:
    """What makes the numbers doubtful: a busy host, a tunnel that did not get quiet."""
    flags = []
    if measurement.contention is not None and measurement.contention.busy:
        flags.append("host busy")
    quiet = measurement.quiet_path
    if quiet is not None and quiet.idle_rtt_ms is not None and not quiet.converged:
        flags.append(f"tunnel not back at idle RTT after {quiet.wait_s:.1f}s")
    return flags


def measurement_line(test: str, measurement: Measurement) -> Text:
    """One finished measurement as a line: plain text for everything that comes from a
    VPN, a tool or the user (never read as markup), the doubt flags in yellow."""
    line = Text(f"  {test:<12} {measurement.link.label:<12} {_describe(test, measurement)}")
    flags = _flags(measurement)
    if flags:
        line.append(" ")
        line.append(f"({', '.join(flags)})", style="yellow")
    return line


class ProgressReporter:
    def __init__(self, total_measurements: int, live: bool | None = None) -> None:
        self.console = Console(stderr=True, soft_wrap=True)
        self.live = self.console.is_terminal if live is None else live
        self._progress = Progress(
            TextColumn("{task.description}"), BarColumn(),
            TextColumn("{task.completed}/{task.total}"), TimeElapsedColumn(),
            console=self.console, disable=not self.live,
        )
        self._task = self._progress.add_task("vpn-bench", total=total_measurements)

    def __enter__(self) -> ProgressReporter:
        self._progress.__enter__()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._progress.__exit__(exc_type, exc, traceback)

    def session_started(self, session: Session) -> None:
        label = f"{session.vpn} / {session.profile} / rep {session.repetition}"
        self._progress.update(self._task, description=label)
        self.console.print(f"[bold]{escape(label)}[/bold]: bringing up")

    def session_ready(self, record: SessionRecord) -> None:
        if record.status is Status.OK:
            self.console.print(f"  ready after {record.ready_after_s:.1f}s "
                               f"{record.overlay_addresses}", markup=False)
        else:
            self.console.print(f"  [red]not ready[/red]: {escape(shorten(record.error))}")

    def measurement_done(self, test: str, measurement: Measurement) -> None:
        self._progress.advance(self._task)
        self.console.print(measurement_line(test, measurement))

    def skipped(self, count: int) -> None:
        self._progress.advance(self._task, count)
