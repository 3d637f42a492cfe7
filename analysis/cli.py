"""Command-line entry points: ``vpn-bench analysis`` and ``python -m analysis``."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from analysis.errors import AnalysisInputError
from analysis.formats import FORMATS, validate_format

if TYPE_CHECKING:
    import polars as pl

    from analysis.compare import Comparison

EXIT_BAD_INPUT = 2


def run_analysis(results_dir: Path, out_dir: Path | None, input_format: str = "auto") -> Path:
    """Analyse ``results_dir`` and write every output into ``out_dir``; returns that dir.

    Raises :class:`AnalysisInputError` for unusable input, before writing anything.
    """
    # Imported here so that `vpn-bench` starts without loading polars and plotnine.
    from analysis.outputs import check_writable, default_out_dir

    validate_format(input_format)
    target = out_dir if out_dir is not None else default_out_dir(results_dir)
    check_writable(target, results_dir)
    from analysis.pipeline import analyse, write_outputs

    analysis = analyse(results_dir, input_format)
    write_outputs(analysis, target)
    return target


def analysis_command(
    results_dir: Annotated[
        Path,
        typer.Argument(
            help="A run directory, a directory of run directories, or a legacy result root.",
            show_default=False,
        ),
    ],
    out: Annotated[
        Path | None,
        typer.Option("--out", help="Output directory, outside RESULTS_DIR "
                     "\\[default: results/analysis/<name of RESULTS_DIR>].",
                     show_default=False),
    ] = None,
    input_format: Annotated[
        str,
        typer.Option("--format", help=f"Input format: {' | '.join(FORMATS)}."),
    ] = "auto",
) -> None:
    """Write metrics.csv/parquet, figures (PNG+SVG) and a self-contained report.html."""
    try:
        written = run_analysis(results_dir, out, input_format)
    except AnalysisInputError as error:
        typer.echo("error: " + " ".join(str(error).split()), err=True)
        raise typer.Exit(EXIT_BAD_INPUT) from error
    typer.echo(f"analysis written to {written} (open {written / 'report.html'})")


def main() -> None:
    """``python -m analysis``: the parser's own errors in one line too, exit code 2."""
    app = typer.Typer(add_completion=False, pretty_exceptions_enable=False)
    app.command()(analysis_command)
    try:
        code = app(standalone_mode=False)
    except typer.TyperException as error:
        format_message = getattr(error, "format_message", None)
        text = format_message() if callable(format_message) else str(error)
        typer.echo("error: " + " ".join(str(text).split())
                   + " (see: python -m analysis --help)", err=True)
        sys.exit(int(getattr(error, "exit_code", EXIT_BAD_INPUT)))
    sys.exit(code if isinstance(code, int) else 0)


COMPARE_CSV = "compare.csv"
LEFT_OUT_CSV = "left_out.csv"
COMPARE_FIGURE = "compare"
#: Default output root of ``compare``, relative to the working directory.
DEFAULT_COMPARE_OUT = Path("results") / "compare"
PRINTED_ROWS = 30


def _check_compare_inputs(runs: list[Path], out_dir: Path) -> None:
    """Every check that needs no loading: count, existence, duplicates, output place."""
    if len(runs) < 2:
        raise AnalysisInputError(
            f"compare needs at least two runs (a baseline and one to compare), got {len(runs)}"
        )
    seen: dict[Path, Path] = {}
    for run in runs:
        if not run.exists():
            raise AnalysisInputError(f"{run}: no such directory")
        if not run.is_dir():
            raise AnalysisInputError(f"{run}: not a directory")
        resolved = run.resolve()
        if resolved in seen:
            raise AnalysisInputError(
                f"{seen[resolved]} and {run} are the same directory; pass different runs")
        seen[resolved] = run
    target = out_dir.resolve()
    for resolved, run in seen.items():
        if target == resolved or target.is_relative_to(resolved):
            raise AnalysisInputError(
                f"{out_dir}: inside the input {run}; inputs are never written to, "
                "pass --out DIR elsewhere")


def default_compare_out(runs: list[Path]) -> Path:
    """``results/compare/<A>-vs-<B>[-vs-...]`` below the working directory."""
    return DEFAULT_COMPARE_OUT / "-vs-".join(run.resolve().name for run in runs)


def run_compare(runs: list[Path], out_dir: Path | None, input_format: str = "auto") -> tuple[
        Path, Comparison]:
    """Compare ``runs[1:]`` with ``runs[0]``; write compare.csv, left_out.csv and the figure.

    Raises :class:`AnalysisInputError` for unusable input, before writing anything.
    Returns the output directory and the :class:`analysis.compare.Comparison`.
    """
    from analysis.compare import RunRows, compare_runs, run_labels
    from analysis.figures.compare import write_compare_figure
    from analysis.importers.detect import load_dataset
    from analysis.metrics import compute_metric_rows
    from analysis.outputs import check_writable

    validate_format(input_format)
    target = out_dir if out_dir is not None else default_compare_out(runs)
    _check_compare_inputs(runs, target)
    check_writable(target)  # before the (slow) loading, as `analysis` does
    labels = run_labels([run.resolve().name for run in runs], [str(run) for run in runs])
    inputs = [RunRows(label, compute_metric_rows(load_dataset(run, input_format)))
              for label, run in zip(labels, runs, strict=True)]
    comparison = compare_runs(inputs)
    if comparison.table.is_empty():
        raise AnalysisInputError(
            "the runs have no VPN, profile and metric in common; nothing to compare")
    target.mkdir(parents=True, exist_ok=True)
    comparison.table.write_csv(target / COMPARE_CSV)
    comparison.left_out.write_csv(target / LEFT_OUT_CSV)
    write_compare_figure(comparison.table, target / COMPARE_FIGURE)
    return target, comparison


def _number(value: float | None) -> str:
    """Readable without exponents: whole numbers from 100, three significant digits below."""
    if value is None:
        return "–"
    if abs(value) >= 100:
        return f"{value:.0f}"
    return f"{value:.3g}"


def print_comparison(table: pl.DataFrame, left_out: pl.DataFrame,
                     limit: int = PRINTED_ROWS) -> None:
    """The ranked table (first ``limit`` rows) and what the intersection left out."""
    from rich.console import Console
    from rich.table import Table

    from analysis.catalogue import ALL

    console = Console()
    if not console.is_terminal:  # a log or a pipe: do not squeeze the table into 80 columns
        console = Console(width=200)
    shown = Table(title="Change from the baseline run (95 % interval), ranked by significance")
    for column in ("run", "vpn", "profile", "metric", "baseline", "value", "change",
                   "change %", "verdict"):
        shown.add_column(column, justify="right" if column in {"baseline", "value"} else "left")
    styles = {"increase": "blue", "decrease": "red", "within noise": "dim"}
    for row in table.head(limit).iter_rows(named=True):
        change = f"{_number(row['change'])} [{_number(row['change_low'])}, " \
                 f"{_number(row['change_high'])}]"
        pct = "–" if row["change_pct"] is None else (
            f"{row['change_pct']:+.1f} % [{_number(row['change_pct_low'])}, "
            f"{_number(row['change_pct_high'])}]")
        metric = row["metric"] if row["test"] == ALL or not row["metric"].startswith("run.") \
            else f"{row['metric']} ({row['test']})"
        shown.add_row(row["run"], row["vpn"], row["profile"], metric,
                      f"{_number(row['baseline_value'])} {row['unit']}",
                      _number(row["value"]), change, pct, row["verdict"],
                      style=styles.get(row["verdict"], ""))
    console.print(shown)
    if table.height > limit:
        console.print(f"... {table.height - limit} more rows in {COMPARE_CSV}")
    beyond = int(table["beyond_noise"].fill_null(False).sum())
    console.print(f"{beyond} of {table.height} changes are beyond noise "
                  "(their 95 % interval excludes 0).")
    groups = left_out.group_by(["run", "kind", "only_in"]).agg("name")
    for run, kind, only_in, names in sorted(groups.iter_rows()):
        console.print(f"left out ({run}): {kind} only in {only_in}: {', '.join(sorted(names))}")


def compare_command(
    runs: Annotated[
        list[Path],
        typer.Argument(help="Run directories or legacy result roots; the first is the "
                       "baseline, each other one is compared with it.", show_default=False),
    ],
    out: Annotated[
        Path | None,
        typer.Option("--out", help="Output directory \\[default: results/compare/<A>-vs-<B>]."),
    ] = None,
    input_format: Annotated[
        str,
        typer.Option("--format", help=f"Input format: {' | '.join(FORMATS)}."),
    ] = "auto",
) -> None:
    """Compare runs: every metric's change from the first run.

    Each change comes with its 95 % interval. Writes compare.csv, left_out.csv and
    compare.png/svg, and prints the ranked table."""
    try:
        written, comparison = run_compare(runs, out, input_format)
    except AnalysisInputError as error:
        typer.echo("error: " + " ".join(str(error).split()), err=True)
        raise typer.Exit(EXIT_BAD_INPUT) from error
    print_comparison(comparison.table, comparison.left_out)
    typer.echo(f"comparison written to {written}")
