"""iperf3 JSON parsing, on output captured from real iperf3 3.12 runs on a namespace LAN."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.parsing.iperf3 import Iperf3Error
from harness.workloads.tcp import parse_tcp
from harness.workloads.udp import parse_udp


def read(fixtures: Path, name: str) -> str:
    return (fixtures / "iperf3" / name).read_text()


def test_tcp_bidir_forward_and_reverse_halves(fixtures: Path) -> None:
    metrics = parse_tcp(read(fixtures, "tcp_bidir_ok.json"))
    assert metrics.sender_bps == pytest.approx(7846547703.137812)
    assert metrics.receiver_bps == pytest.approx(7821165607.499026)
    assert metrics.reverse_sender_bps == pytest.approx(6849411755.2946825)
    assert metrics.reverse_receiver_bps == pytest.approx(6837992992.123626)
    assert metrics.retransmits == 2570
    assert metrics.reverse_retransmits == 1843
    assert metrics.bytes_sent == 1961754624
    assert metrics.mss_bytes == 1448
    # max_snd_cwnd of the forward sender only, not of the reverse stream (15928).
    assert metrics.max_snd_cwnd_bytes == 889072
    assert metrics.mean_rtt_us == 175
    assert metrics.congestion_control == "bbr"
    assert metrics.streams == 1
    assert len(metrics.intervals) == 2
    first = metrics.intervals[0]
    assert first.snd_cwnd_bytes == 889072 and first.rtt_us == 288
    assert first.bits_per_second == pytest.approx(7205148636.847918)


def test_tcp_two_streams_take_max_cwnd_over_senders(fixtures: Path) -> None:
    metrics = parse_tcp(read(fixtures, "tcp_two_streams_ok.json"))
    assert metrics.streams == 2
    assert metrics.reverse_sender_bps is None
    assert metrics.max_snd_cwnd_bytes is not None and metrics.max_snd_cwnd_bytes > 0
    assert all(interval.snd_cwnd_bytes for interval in metrics.intervals)


def test_udp_receiver_view(fixtures: Path) -> None:
    metrics = parse_udp(read(fixtures, "udp_bidir_ok.json"))
    assert metrics.blksize_bytes == 1448
    assert metrics.sender_bps == pytest.approx(1374372293.508212)
    assert metrics.receiver_bps == pytest.approx(119186297.86113538)
    assert metrics.lost_pct == pytest.approx(90.88787012113055)
    assert metrics.lost_packets == 216095 and metrics.packets == 236726
    assert metrics.jitter_ms == pytest.approx(0.35959528885680847)
    assert metrics.reverse_lost_pct == pytest.approx(88.43141976497785)
    assert metrics.host_cpu_pct == pytest.approx(66.3103166519849)


def test_error_json_raises_with_iperf3_message(fixtures: Path) -> None:
    with pytest.raises(Iperf3Error, match="Connection refused"):
        parse_tcp(read(fixtures, "tcp_connection_refused.json"))


@pytest.mark.parametrize("text", ["", "iperf3: error - unable to connect", "[1, 2]"])
def test_non_json_output_is_an_error(text: str) -> None:
    with pytest.raises(Iperf3Error):
        parse_tcp(text)


def test_truncated_output_is_an_error(fixtures: Path) -> None:
    text = read(fixtures, "tcp_bidir_ok.json")
    with pytest.raises(Iperf3Error):
        parse_tcp(text[: len(text) // 2])


def test_parsers_reject_the_other_protocol(fixtures: Path) -> None:
    with pytest.raises(Iperf3Error, match="expected an iperf3 UDP result, got TCP"):
        parse_udp(read(fixtures, "tcp_bidir_ok.json"))
    with pytest.raises(Iperf3Error, match="expected an iperf3 TCP result, got UDP"):
        parse_tcp(read(fixtures, "udp_bidir_ok.json"))
