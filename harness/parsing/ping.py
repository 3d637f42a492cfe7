"""Parse iputils ``ping`` output, keeping every reply's RTT by sequence number."""

from __future__ import annotations

import re

from harness.records.models import PingMetrics

_REPLY = re.compile(r"icmp_seq=(\d+)\b.*?\btime=([\d.]+) ms")
_SUMMARY = re.compile(
    r"(\d+) packets transmitted, (\d+) (?:packets )?received"
    r"(?:, \+\d+ duplicates)?(?:, \+\d+ errors)?, ([\d.]+)% packet loss"
)
_RTT = re.compile(r"rtt min/avg/max/mdev = ([\d.]+)/([\d.]+)/([\d.]+)/([\d.]+) ms")


class PingError(ValueError):
    """ping produced no statistics (e.g. the network is unreachable)."""


def parse_ping(text: str, interval_s: float) -> PingMetrics:
    """Summary plus ``samples_ms[i]`` = RTT of sequence number i+1 (None when lost)."""
    summary = _SUMMARY.search(text)
    if summary is None:
        detail = text.strip().splitlines()[-1] if text.strip() else "<no output>"
        raise PingError(f"ping printed no statistics: {detail}")
    transmitted, received = int(summary.group(1)), int(summary.group(2))
    replies: dict[int, float] = {}
    for match in _REPLY.finditer(text):
        replies.setdefault(int(match.group(1)), float(match.group(2)))
    samples: list[float | None] = [replies.get(seq) for seq in range(1, transmitted + 1)]
    rtt = _RTT.search(text)
    return PingMetrics(
        transmitted=transmitted,
        received=received,
        loss_pct=float(summary.group(3)),
        rtt_min_ms=float(rtt.group(1)) if rtt else None,
        rtt_avg_ms=float(rtt.group(2)) if rtt else None,
        rtt_max_ms=float(rtt.group(3)) if rtt else None,
        rtt_mdev_ms=float(rtt.group(4)) if rtt else None,
        interval_s=interval_s,
        samples_ms=samples,
    )
