"""Host TCP tuning for reordering links (the reference study's follow-up experiment).

Linux takes 3 duplicate ACKs (and RACK's reordering window) as loss; with netem's jitter
most "losses" are reordering. `reorder-tolerant` raises the threshold per host namespace."""

from __future__ import annotations

from typing import Literal, get_args

from harness.errors import UsageError
from harness.testbed.base import Testbed

TcpTuning = Literal["none", "reorder-tolerant"]
TCP_TUNINGS: tuple[str, ...] = get_args(TcpTuning)

REORDER_TOLERANT = {
    "net.ipv4.tcp_reordering": "10",
    "net.ipv4.tcp_recovery": "0",
    "net.ipv4.tcp_early_retrans": "0",
}


def parse_tcp_tuning(value: str) -> TcpTuning:
    if value not in TCP_TUNINGS:
        raise UsageError(f"unknown TCP tuning {value!r}; valid: {', '.join(TCP_TUNINGS)}")
    return value  # type: ignore[return-value]


def apply_tcp_tuning(testbed: Testbed, tuning: str) -> dict[str, dict[str, str]]:
    """Set the sysctls in every host namespace; returns host -> sysctl -> value now in
    effect (read back). `none` changes nothing and returns {}."""
    if parse_tcp_tuning(tuning) == "none":
        return {}
    applied: dict[str, dict[str, str]] = {}
    for host in testbed.hosts:
        host.succeed(["sysctl", "-q", "-w",
                      *(f"{key}={value}" for key, value in REORDER_TOLERANT.items())])
        values = host.succeed(["sysctl", "-n", *REORDER_TOLERANT]).split()
        applied[host.name] = dict(zip(REORDER_TOLERANT, values, strict=True))
    return applied
