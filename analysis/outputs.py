"""Where the analysis writes, checked before anything is read or imported that is slow:
never into its input, only where it can create files (light imports only, so a bad
``--out`` is answered at once)."""

from __future__ import annotations

from pathlib import Path

from analysis.errors import AnalysisInputError
from harness.errors import UsageError
from harness.outdir import check_output_dir, inside

#: Default output root, relative to the working directory: never inside the input, which may
#: be read-only or shared (the legacy dataset).
DEFAULT_OUT = Path("results") / "analysis"


def default_out_dir(results_dir: Path) -> Path:
    """``results/analysis/<name of RESULTS_DIR>`` below the working directory."""
    return DEFAULT_OUT / results_dir.resolve().name


def check_writable(out_dir: Path, results_dir: Path | None = None) -> None:
    """Fail early, before anything is read or written: ``out_dir`` must be creatable and
    writable, and never the input itself or a directory inside it."""
    if results_dir is not None and inside(out_dir, results_dir):
        raise AnalysisInputError(f"--out {out_dir} is inside the input {results_dir}; the "
                                 "analysis never writes into its input: pass --out DIR "
                                 "outside it")
    try:
        check_output_dir(out_dir)
    except UsageError as error:
        raise AnalysisInputError(str(error)) from None
