"""The `impair-check` command (the lead registers it on the main typer app)."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from harness.impairment.check import DEFAULT_CONFIDENCE
from harness.impairment.impair_check import ImpairCheckReport, impair_check
from harness.netem.record import Estimate, ImpairmentRecord, LinkCheck
from harness.outdir import check_output_file


def _fmt(value: float | None, digits: int = 3) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    return f"{value:.{digits}f}"


def _row(table: Table, label: str, configured: str, estimate: Estimate,
         digits: int = 3) -> None:
    ok = "yes" if estimate.expected_inside else "NO"
    table.add_row(label, configured, _fmt(estimate.expected, digits),
                  _fmt(estimate.measured, digits),
                  f"[{_fmt(estimate.low, digits)}, {_fmt(estimate.high, digits)}]", ok)


def _describe_loss(record: ImpairmentRecord) -> str:
    loss = record.egress.loss if record.egress else None
    if loss is None:
        return "-"
    fields = {k: v for k, v in loss.model_dump().items() if k != "model" and v is not None}
    return f"{loss.model} " + ", ".join(f"{k} {v:g}" for k, v in fields.items())


def check_table(record: ImpairmentRecord, check: LinkCheck) -> Table:
    egress = record.egress
    table = Table(title=f"{record.profile} via {record.engine}: {check.source} -> "
                  f"{check.target}, {check.probes_sent} probes every {check.interval_ms:.3f} ms "
                  f"({check.confidence:.1%} intervals)")
    for column in ("figure", "configured (per egress)", "model expects", "measured",
                   "interval", "inside"):
        table.add_column(column)
    delay = f"{egress.delay_ms:g} ± {egress.jitter_ms:g} ms" if egress else "-"
    _row(table, "one-way delay mean (ms)", delay, check.delay_mean_ms)
    figures = record.egress_figures
    table.add_row("one-way delay sd (ms)", "", _fmt(figures.delay_sd_ms if figures else None),
                  _fmt(check.delay_sd_ms), "", "")
    for name, share in check.delay_quantile_shares.items():
        _row(table, f"share below model {name}", "", share)
    loss = _describe_loss(record)
    _row(table, "loss (%)", str(loss), check.loss_percent)
    reorder = (f"{egress.reorder.percent:g} % corr {egress.reorder.correlation:g} %"
               if egress and egress.reorder else "-")
    _row(table, "reordered probes (%)", reorder, check.reorder_percent)
    table.add_row("mean loss burst (packets)", "",
                  _fmt(figures.mean_loss_burst_packets if figures else None),
                  _fmt(check.mean_loss_burst_packets), "", "")
    table.add_row("probes faster than the minimum", "", "0", str(check.below_model_minimum),
                  "", "yes" if check.below_model_minimum == 0 else "NO")
    table.add_row("path latency / engine lateness (ms)", "", "",
                  f"{_fmt(check.transit_ms)} / {_fmt(check.engine_lateness_ms)}", "", "")
    return table


def print_report(report: ImpairCheckReport, console: Console) -> None:
    for record in report.records:
        if record.round_trip is not None:
            rt = record.round_trip
            console.print(f"[bold]{record.profile}[/bold]: round trip adds "
                          f"{rt.added_rtt_mean_ms:.3f} ms mean (sd {rt.added_rtt_sd_ms:.3f}), "
                          f"loss {rt.loss_percent:.3f} %; seed {record.seed} "
                          f"({record.seed_note})")
        for check in record.checks:
            console.print(check_table(record, check))
            console.print(f"verdict: {check.verdict}"
                          + ("; " + "; ".join(check.problems) if check.problems else ""))
        contention = report.contention.get(record.profile)
        if contention is not None:
            console.print(("[yellow]host busy[/yellow]: " if contention.busy else "host: ")
                          + contention.reason)


def impair_check_command(
    profile: Annotated[list[str], typer.Option(
        "--profile", help="Profile(s): baseline, low, medium, high; comma list; 'all'.")],
    engine: Annotated[str, typer.Option(help="Impairment engine: auto, tc, userspace.")] = "auto",
    probes: Annotated[int, typer.Option(help="Probe datagrams per profile.")] = 2000,
    rate: Annotated[float, typer.Option(help="Probes per second.")] = 1000.0,
    seed: Annotated[int | None, typer.Option(help="Seed of the impairment draws.")] = None,
    confidence: Annotated[float, typer.Option(
        help="Confidence level of the intervals.")] = DEFAULT_CONFIDENCE,
    json_out: Annotated[Path | None, typer.Option(
        "--json", help="Also write the full report (records, checks) as JSON here.")] = None,
    strict: Annotated[bool, typer.Option(
        help="Exit 1 when a measured figure contradicts the model.")] = False,
    backend: Annotated[str, typer.Option(
        help="How hosts are reached: local (network namespaces on this machine), ssh (real "
             "hosts; needs --inventory). Not vm: the NixOS test driver runs only `vpn-bench run`.")
    ] = "local",
    inventory: Annotated[Path | None, typer.Option(
        help="Inventory of real hosts (TOML); implies --backend ssh.")] = None,
) -> None:
    """Measure what an impairment profile really does to a link: configured vs measured."""
    if json_out is not None:
        check_output_file(json_out, "--json")
    report = impair_check(profile, engine=engine, probes=probes, rate_pps=rate, seed=seed,
                          confidence=confidence, backend=backend,
                          inventory=inventory)
    print_report(report, Console(soft_wrap=True))
    if json_out is not None:
        json_out.write_text(report.model_dump_json(indent=2))
    if strict and not report.consistent:
        raise typer.Exit(1)
