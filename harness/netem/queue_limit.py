"""netem's queue limit: large enough for the bandwidth-delay product.

tc's default `limit 1000` silently drops once 1000 packets wait, which a 1 Gbit/s sender
reaches after 12 ms of delay. We size the queue for what arrives at ``link_bps`` during the
longest likely delay (delay + 3·jitter) in full-size frames, never below tc's 1000."""

from __future__ import annotations

import math

from harness.netem.model import Impairment

DEFAULT_LINK_BPS = 1e9
FRAME_BYTES = 1500
LIMIT_FLOOR = 1000
LIMIT_CAP = 1_000_000


def bdp_limit(impairment: Impairment, link_bps: float = DEFAULT_LINK_BPS,
              frame_bytes: int = FRAME_BYTES) -> int:
    """The configured limit if set, else max(1000, link_bps·(delay + 3·jitter)/frame bits)."""
    if impairment.limit_packets is not None:
        return impairment.limit_packets
    longest_s = (impairment.delay_ms + 3 * impairment.jitter_ms) / 1000.0
    packets = math.ceil(link_bps * longest_s / (frame_bytes * 8))
    return min(LIMIT_CAP, max(LIMIT_FLOOR, packets))
