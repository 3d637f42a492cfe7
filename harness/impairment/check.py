"""Verify an impaired link by measuring it: probe traffic out, model figures side by side.

`run_probes` (I/O) sends a bounded, periodic stream of numbered, time-stamped datagrams
from one host to another; `analyse` (pure) turns what arrived into estimates with
confidence intervals and compares each with what the model expects for that stream.
"""

from __future__ import annotations

import json
import math
import secrets
from collections.abc import Sequence
from dataclasses import dataclass

from harness.hosts.base import CommandFailed, Host
from harness.impairment.engine import ImpairmentEngine
from harness.impairment.errors import ImpairmentError
from harness.netem import delay_model
from harness.netem.derived import egress_figures, reorder_rule_fraction
from harness.netem.model import Impairment, Profile
from harness.netem.record import Estimate, LinkCheck
from harness.netem.stats import (
    batch_means_interval,
    quantile,
    wilson_interval,
)
from harness.netem.units import fraction_to_percent, percent_to_fraction
from harness.testbed.base import Testbed
from harness.waiting import WaitFailed, wait_until

PROBE_PORT = 47_999
#: The probe program (harness/impairment/probe.py), installed as a console script.
PROBE_BINARY = "vpb-probe"
DEFAULT_CONFIDENCE = 0.99
BATCHES = 20
QUANTILES = (0.1, 0.5, 0.9)
MAX_PROBES = 100_000
MAX_RATE_PPS = 5_000


@dataclass(frozen=True)
class ProbeSamples:
    """Raw outcome of one probe stream; lists are in arrival order."""

    count: int
    interval_ms: float
    sequence: list[int]
    sent_ns: list[int]
    received_ns: list[int]
    duplicates: int
    duration_s: float

    @property
    def one_way_ms(self) -> list[float]:
        return [(r - s) / 1e6 for r, s in zip(self.received_ns, self.sent_ns, strict=True)]


def _validate(count: int, rate_pps: float) -> None:
    if not 10 <= count <= MAX_PROBES:
        raise ImpairmentError(f"probes must be 10..{MAX_PROBES}, got {count}")
    if not 1 <= rate_pps <= MAX_RATE_PPS:
        raise ImpairmentError(f"probe rate must be 1..{MAX_RATE_PPS} per second, got {rate_pps}")


def _probe_program(host: Host) -> str:
    path = host.which(PROBE_BINARY)
    if path is None:
        raise ImpairmentError(
            f"{PROBE_BINARY} is not on {host.name}'s PATH: it comes with the vpn-bench "
            "package (`pip install -e .` / `make setup`, or the flake's vpn-bench)")
    return path


def run_probes(testbed: Testbed, source: str, target: str, *, count: int, rate_pps: float,
               max_delay_ms: float = 0.0, size: int = 64) -> ProbeSamples:
    """Send ``count`` datagrams at ``rate_pps`` from ``source`` to ``target``'s LAN address.
    Bounded: the receiver gives up ``max_delay_ms`` + 2 s after the last send."""
    _validate(count, rate_pps)
    sender, receiver = testbed.host(source), testbed.host(target)
    interval_us = round(1e6 / rate_pps)
    tag = secrets.randbits(31)
    directory = receiver.state_dir / "impairment"
    receiver.make_dir(directory)
    out, ready = directory / f"probe-{tag}.json", directory / f"probe-{tag}.ready"
    send_s = count * interval_us / 1e6
    max_seconds = send_s + max_delay_ms / 1000 + 10.0
    module = [_probe_program(receiver)]
    sender_program = _probe_program(sender)
    process = receiver.start(
        [*module, "receive", "--bind", testbed.lan_address(target), "--port", str(PROBE_PORT),
         "--count", str(count), "--max-seconds", f"{max_seconds:.3f}", "--out", str(out),
         "--ready", str(ready), "--tag", str(tag)],
        name=f"probe-receiver-{tag}")
    try:
        wait_until(lambda: receiver.exists(ready), timeout_s=10.0, interval_s=0.02,
                   what=f"the probe receiver on {target}",
                   abort=lambda: [] if process.is_running() else [
                       f"it exited: {process.log_tail(10)}"])
        result = sender.run(
            [sender_program, "send", "--to", testbed.lan_address(target), "--port", str(PROBE_PORT),
             "--count", str(count), "--interval-us", str(interval_us), "--size", str(size),
             "--tag", str(tag)],
            timeout=send_s + 30.0)
        if not result.ok:
            raise ImpairmentError(f"probe sender on {source} failed: {result.describe()}")
        # Everything still in flight arrives within the longest delay; then stop waiting.
        if process.wait(max_delay_ms / 1000 + 1.0) is None:
            process.stop(timeout=5.0)
        data = json.loads(receiver.read_file(out))
    except WaitFailed as error:
        raise ImpairmentError(str(error)) from None
    except (OSError, CommandFailed, json.JSONDecodeError) as error:
        raise ImpairmentError(f"probe results from {target} unreadable: {error}; "
                              f"{process.log_tail(10)}") from None
    finally:
        process.stop(timeout=5.0)
        for path in (out, ready):
            receiver.remove(path)
    sent_ns = list(map(int, data["sent_ns"]))
    span = (max(sent_ns) - min(sent_ns)) / 1e9 if sent_ns else 0.0
    return ProbeSamples(count=count, interval_ms=interval_us / 1000,
                        sequence=list(map(int, data["sequence"])), sent_ns=sent_ns,
                        received_ns=list(map(int, data["received_ns"])),
                        duplicates=int(data["duplicates"]), duration_s=span)


def reordered_flags(sequence: list[int]) -> list[bool]:
    """RFC 4737: a packet is reordered when a higher sequence number arrived before it."""
    flags, highest = [], -1
    for number in sequence:
        flags.append(number < highest)
        highest = max(highest, number)
    return flags


def _batches(count: int) -> list[range]:
    size = max(1, math.ceil(count / BATCHES))
    return [range(start, min(count, start + size)) for start in range(0, count, size)]


def _estimate(measured: float, interval: tuple[float, float], expected: float | None,
              method: str) -> Estimate:
    return Estimate(measured=measured, low=interval[0], high=interval[1], expected=expected,
                    method=method)


def analyse(samples: ProbeSamples, impairment: Impairment | None, *, source: str, target: str,
            transit_ms: Sequence[float], lateness_ms: float | None = None,
            confidence: float = DEFAULT_CONFIDENCE) -> LinkCheck:
    """Measured vs model for one probe stream (pure).

    ``transit_ms`` are one-way latencies of the same path without impairment, measured the
    same way (so they carry the probe programs' own scheduling noise). A measured delay is
    expected to be model delay + transit + the engine's mean send lateness (where it reports
    one): the expected mean adds the means, and the expected share of probes below a
    threshold averages the model's CDF over the transit samples (their convolution)."""
    owd = samples.one_way_ms
    received = len(samples.sequence)
    if not transit_ms:
        raise ValueError("transit_ms needs at least one sample")
    lateness = lateness_ms or 0.0
    transit_mean = _mean(list(transit_ms))
    offset = transit_mean + lateness
    by_sequence = dict(zip(samples.sequence, owd, strict=True))
    flags = dict(zip(samples.sequence, reordered_flags(samples.sequence), strict=True))
    batches = _batches(samples.count)

    figures = egress_figures(impairment) if impairment is not None else None
    loss_expected = percent_to_fraction(figures.loss_percent) if figures else 0.0
    rule = reorder_rule_fraction(impairment) if impairment is not None else 0.0
    interval_ms = samples.interval_ms
    if len(samples.sent_ns) > 1:
        interval_ms = (max(samples.sent_ns) - min(samples.sent_ns)) / 1e6 / (
            max(samples.sequence) - min(samples.sequence) or 1)
    reorder_expected = (delay_model.probe_reorder_probability(
        impairment, interval_ms, loss_expected, rule) if impairment is not None else 0.0)
    delay_expected = (figures.delay_mean_ms if figures else 0.0) + offset

    # Delay: batch means over sequence-number batches.
    delay_batches = [_mean([by_sequence[s] for s in batch if s in by_sequence])
                     for batch in batches]
    mean_delay, low, high = batch_means_interval(delay_batches, confidence)
    delay = _estimate(_mean(owd), (low, high), delay_expected,
                      f"batch means of {len(batches)} sequence batches, t interval")
    ordered = sorted(owd)
    percentiles = {f"p{int(q * 100)}": quantile(ordered, q) for q in (0.01, 0.1, 0.5, 0.9, 0.99)}
    sd = math.sqrt(_mean([(x - mean_delay) ** 2 for x in owd])) if owd else math.nan

    # Loss: the wider of the binomial (independent losses) and batch-means intervals.
    lost = samples.count - received
    loss_batches = [sum(1 for s in batch if s not in by_sequence) / len(batch)
                    for batch in batches]
    w_low, w_high = wilson_interval(lost, samples.count, confidence)
    _, b_low, b_high = batch_means_interval(loss_batches, confidence)
    loss = _estimate(fraction_to_percent(lost / samples.count),
                     (fraction_to_percent(min(w_low, max(0.0, b_low))),
                      fraction_to_percent(max(w_high, b_high))),
                     fraction_to_percent(loss_expected),
                     "Wilson interval, widened to the batch-means interval if wider")
    reorder_batches = [_mean([float(flags[s]) for s in batch if s in flags]) for batch in batches]
    reordered = sum(flags.values())
    r_low, r_high = wilson_interval(reordered, received, confidence)
    _, rb_low, rb_high = batch_means_interval(reorder_batches, confidence)
    reorder = _estimate(fraction_to_percent(reordered / received if received else math.nan),
                        (fraction_to_percent(min(r_low, max(0.0, rb_low))),
                         fraction_to_percent(max(r_high, rb_high))),
                        fraction_to_percent(reorder_expected),
                        "RFC 4737 reordered share of received probes; Wilson interval widened "
                        "to the batch-means interval; expected from the delay law at the "
                        f"measured probe spacing {interval_ms:.3f} ms")

    shares: dict[str, Estimate] = {}
    below_minimum = 0
    if impairment is not None and received:
        law = delay_model.delay_samples_ms(impairment)
        # Levels within the continuous part: an atom (clipped delays at 0) would make the
        # share at its threshold hinge on how the few microseconds of latency fall.
        atom = delay_model.delay_cdf(law, law[0])
        for level in QUANTILES:
            q = atom + (1 - atom) * level if atom < 1 else 1.0
            threshold = delay_model.delay_quantile(law, q) + offset
            below = sum(1 for x in owd if x <= threshold)
            # P(D + T + lateness <= threshold), T over the transit samples. (Clipping gives
            # the law a point mass at 0, so this can exceed q.)
            expected = _mean([delay_model.delay_cdf(law, threshold - t - lateness)
                              for t in transit_ms])
            shares[f"p{round(q * 100)}"] = _estimate(
                below / received, wilson_interval(below, received, confidence), expected,
                f"share of probes at most the model's {q:g}-quantile + {offset:.3f} ms "
                "(mean path latency + engine lateness); expected from the model convolved "
                "with the measured path latency (Wilson interval)")
        below_minimum = sum(1 for x in owd if x < law[0] - 1e-6)

    problems = _problems(delay, loss, reorder, shares, below_minimum, impairment)
    return LinkCheck(
        source=source, target=target, probes_sent=samples.count, probes_received=received,
        duplicates=samples.duplicates, interval_ms=interval_ms, duration_s=samples.duration_s,
        confidence=confidence, transit_ms=transit_mean, delay_mean_ms=delay, delay_sd_ms=sd,
        delay_percentiles_ms=percentiles, delay_quantile_shares=shares,
        below_model_minimum=below_minimum, loss_percent=loss,
        mean_loss_burst_packets=mean_burst(samples), reorder_percent=reorder,
        engine_lateness_ms=lateness_ms,
        verdict="unchecked" if impairment is None else (
            "inconsistent" if problems else "consistent"),
        problems=problems,
    )


def _problems(delay: Estimate, loss: Estimate, reorder: Estimate,
              shares: dict[str, Estimate], below_minimum: int,
              impairment: Impairment | None) -> list[str]:
    if impairment is None:
        return []
    problems = []
    for label, estimate in (("mean one-way delay", delay), ("loss", loss),
                            ("reorder", reorder), *((f"delay share below {name}", e)
                                                    for name, e in shares.items())):
        if not estimate.expected_inside:
            problems.append(f"{label}: expected {estimate.expected:.4g} outside measured "
                            f"[{estimate.low:.4g}, {estimate.high:.4g}]")
    if below_minimum:
        problems.append(f"{below_minimum} probes arrived faster than the minimum delay")
    return problems


def loss_runs(sequence: Sequence[int], count: int) -> list[int]:
    """Lengths of the runs of consecutive sequence numbers (0..count-1) that never arrived."""
    arrived = set(sequence)
    runs: list[int] = []
    current = 0
    for number in range(count):
        if number in arrived:
            if current:
                runs.append(current)
            current = 0
        else:
            current += 1
    return runs + ([current] if current else [])


def mean_burst(samples: ProbeSamples) -> float | None:
    """Mean length of runs of consecutive lost sequence numbers."""
    runs = loss_runs(samples.sequence, samples.count)
    return sum(runs) / len(runs) if runs else None


def _mean(values: list[float]) -> float:
    return sum(values) / len(values) if values else math.nan


def measure_transit(testbed: Testbed, source: str, target: str, *, count: int = 500,
                    rate_pps: float = 1000) -> list[float]:
    """One-way latencies (ms) of the path as it is, before impairing it: the baseline the
    check adds the model's delay to."""
    samples = run_probes(testbed, source, target, count=count, rate_pps=rate_pps)
    if not samples.sequence:
        raise ImpairmentError(f"no probe reached {target} from {source} on the plain path")
    return samples.one_way_ms


def verify_link(testbed: Testbed, engine: ImpairmentEngine, profile: Profile, *,
                probes: int = 1000, rate_pps: float = 1000, source: str | None = None,
                target: str | None = None, transit_ms: Sequence[float] | None = None,
                confidence: float = DEFAULT_CONFIDENCE) -> LinkCheck:
    """Measure the applied profile on one link (default: first host -> second) and attach
    the result to the engine's record. Without ``transit_ms`` (one-way latencies of the
    unimpaired path, see `measure_transit`) the path latency is taken as the fastest probe
    minus the model's minimum delay, which ignores the probes' own scheduling noise."""
    names = testbed.host_names
    source = source or names[0]
    target = target or names[1 % len(names)]
    impairment = profile.egress
    longest = egress_figures(impairment).delay_max_ms if impairment else 0.0
    samples = run_probes(testbed, source, target, count=probes, rate_pps=rate_pps,
                         max_delay_ms=longest)
    lateness = engine.lateness_ms()
    if transit_ms is None:
        minimum = delay_model.delay_samples_ms(impairment)[0] if impairment else 0.0
        fastest = min(samples.one_way_ms, default=0.0)
        transit_ms = [max(0.0, fastest - minimum)]
    check = analyse(samples, impairment, source=source, target=target, transit_ms=transit_ms,
                    lateness_ms=lateness, confidence=confidence)
    engine.add_check(check)
    return check
