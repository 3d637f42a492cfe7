#!/usr/bin/env python3
"""Analysis speed on the full legacy dataset: load + metrics, and the whole report.

Prints (1) the in-process time to import all 1 057 legacy files and compute the metrics
table (target < 2 s; best and median of several rounds, after one warm-up round that
pays for imports and the page cache), and (2) the wall time of
``python -m analysis DATASET --out TMP`` in a fresh interpreter, i.e. what a user waits
for to get metrics, every figure (PNG+SVG) and report.html: cold (empty output dir, every
figure drawn) and warm (the same command again: unchanged figures are skipped through the
render cache, target < 10 s on a quiet machine). The load average is printed with each
figure, since on a shared machine it decides the numbers.

Usage: .venv/bin/python benchmarks/analysis_speed.py [--dataset DIR] [--rounds N]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from analysis.importers.detect import load_dataset
from analysis.metrics import compute_metrics

REPO = Path(__file__).resolve().parents[1]
DEFAULT_DATASET = REPO.parent / "shared" / "data" / "legacy-vpn-bench" / "18.12.2025"
LOAD_TARGET_S = 2.0
REPORT_TARGET_S = 60.0
WARM_TARGET_S = 10.0


def time_load_and_metrics(dataset: Path) -> tuple[float, int, int]:
    """Seconds for load + metrics, and the sizes it produced (observations, metric rows)."""
    started = time.perf_counter()
    data = load_dataset(dataset, "legacy")
    metrics = compute_metrics(data)
    return time.perf_counter() - started, data.observations.height, metrics.height


def _cli(dataset: Path, out: Path) -> float:
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "analysis", str(dataset), "--out", str(out)],
                   cwd=REPO, check=True, capture_output=True)
    return time.perf_counter() - started


def load_average() -> str:
    one, five, _ = os.getloadavg()
    return f"load {one:.2f} (1 min) / {five:.2f} (5 min) on {os.cpu_count()} CPUs"


def time_report(dataset: Path) -> tuple[float, str, float, str, int]:
    """Cold and warm wall seconds of the CLI in fresh interpreters (each with the load
    average at its start), and how many figures it wrote."""
    with tempfile.TemporaryDirectory(prefix="analysis-speed-") as name:
        out = Path(name)
        cold_load = load_average()
        cold = _cli(dataset, out)
        warm_load = load_average()
        warm = _cli(dataset, out)
        figures = len(list((out / "figures").glob("*.png")))
    return cold, cold_load, warm, warm_load, figures


def verdict(seconds: float, target: float) -> str:
    return "ok" if seconds < target else "TOO SLOW"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", type=Path, default=DEFAULT_DATASET)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    if not args.dataset.is_dir():
        print(f"dataset not found: {args.dataset}", file=sys.stderr)
        return 2
    files = sum(1 for _ in args.dataset.rglob("*.json"))
    first_s, _, _ = time_load_and_metrics(args.dataset)  # warm-up: lazy imports, page cache
    rounds = [time_load_and_metrics(args.dataset) for _ in range(args.rounds)]
    seconds = [r[0] for r in rounds]
    _, observations, rows = rounds[0]
    best, median = min(seconds), statistics.median(seconds)
    print(f"dataset: {args.dataset} ({files} JSON files)")
    print(f"load + metrics: best {best:.3f} s, median {median:.3f} s over {args.rounds} rounds "
          f"({observations} observations -> {rows} metric rows); first round {first_s:.3f} s; "
          f"target < {LOAD_TARGET_S:.0f} s: {verdict(max(median, first_s), LOAD_TARGET_S)}")
    cold, cold_load, warm, warm_load, figures = time_report(args.dataset)
    print(f"whole report, cold (python -m analysis, fresh interpreter, empty out dir): "
          f"{cold:.1f} s ({figures} figures as PNG+SVG, report.html; {cold_load}); "
          f"target < {REPORT_TARGET_S:.0f} s: {verdict(cold, REPORT_TARGET_S)}")
    print(f"whole report, warm (same command again, unchanged figures skipped): {warm:.1f} s "
          f"({warm_load}); target < {WARM_TARGET_S:.0f} s quiet: "
          f"{verdict(warm, WARM_TARGET_S)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
