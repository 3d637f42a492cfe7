"""Command-line entry points: ``vpn-bench analysis`` and ``python -m analysis``."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from analysis.errors import AnalysisInputError
from analysis.formats import FORMATS

EXIT_BAD_INPUT = 2


def run_analysis(results_dir: Path, out_dir: Path | None, input_format: str = "auto") -> Path:
    """Analyse ``results_dir`` and write every output into ``out_dir``; returns that dir.

    Raises :class:`AnalysisInputError` for unusable input, before writing anything.
    """
    # Imported here so that `vpn-bench` starts without loading polars and plotnine.
    from analysis.outputs import check_writable, default_out_dir

    if input_format not in FORMATS:
        raise AnalysisInputError(
            f"unknown input format {input_format!r}; valid choices: {', '.join(FORMATS)}")
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
