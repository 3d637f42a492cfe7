"""iputils ping parsing on output captured from real ping runs on a namespace LAN."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.workloads.ping import PingError, parse_ping


def test_summary_and_every_rtt(fixtures: Path) -> None:
    text = (fixtures / "ping" / "ipv4_ok.txt").read_text()
    metrics = parse_ping(text, interval_s=0.2)
    assert (metrics.transmitted, metrics.received, metrics.loss_pct) == (20, 20, 0.0)
    assert (metrics.rtt_min_ms, metrics.rtt_avg_ms, metrics.rtt_max_ms,
            metrics.rtt_mdev_ms) == (0.045, 0.065, 0.076, 0.007)
    assert len(metrics.samples_ms) == 20
    assert metrics.samples_ms[0] == 0.045
    samples = [s for s in metrics.samples_ms if s is not None]
    assert min(samples) == metrics.rtt_min_ms and max(samples) == metrics.rtt_max_ms
    assert sum(samples) / len(samples) == pytest.approx(metrics.rtt_avg_ms, abs=0.001)


def test_all_lost_keeps_none_samples(fixtures: Path) -> None:
    metrics = parse_ping((fixtures / "ping" / "ipv4_all_lost.txt").read_text(), interval_s=0.2)
    assert (metrics.transmitted, metrics.received, metrics.loss_pct) == (5, 0, 100.0)
    assert metrics.rtt_avg_ms is None
    assert metrics.samples_ms == [None] * 5


def test_no_statistics_is_an_error(fixtures: Path) -> None:
    with pytest.raises(PingError, match="no statistics"):
        parse_ping((fixtures / "ping" / "ipv4_unreachable.txt").read_text(), interval_s=0.2)


def test_lost_sequence_numbers_become_gaps() -> None:
    # Lines as iputils prints them, with sequence 2 missing.
    text = (
        "64 bytes from 10.0.0.2: icmp_seq=1 ttl=64 time=0.50 ms\n"
        "64 bytes from 10.0.0.2: icmp_seq=3 ttl=64 time=0.70 ms\n\n"
        "--- 10.0.0.2 ping statistics ---\n"
        "3 packets transmitted, 2 received, 33.3333% packet loss, time 401ms\n"
        "rtt min/avg/max/mdev = 0.500/0.600/0.700/0.100 ms\n"
    )
    metrics = parse_ping(text, interval_s=0.2)
    assert metrics.samples_ms == [0.5, None, 0.7]
    assert metrics.loss_pct == pytest.approx(33.3333)
