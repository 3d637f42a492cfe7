"""Pure extractors for the files of the legacy result layout (methodology §4).

Each takes the parsed JSON of one file and returns plain numbers; none of them raises on
a missing field, because the legacy data was written by several revisions.
"""

from __future__ import annotations

import re

from analysis.importers.json_paths import JsonObject, get_number, get_object, get_path, get_text
from harness.workloads.tcp import retransmit_rate_pct as retransmit_rate_pct

MBIT = 1e6

_IPERF_ERROR = re.compile(r'"error"\s*:\s*"((?:[^"\\]|\\.)*)"')
_NOISE_PREFIXES = ("Warning: Permanently added",)
_MAX_REASON = 240


def failure_reason(envelope: object) -> str | None:
    """Why a legacy result envelope failed, or None if it is a success.

    The reason is taken from the tool's own message, never from the recorded command
    line: the legacy data stores a password there (methodology §8).
    """
    status = get_text(envelope, "status")
    if status == "success" and isinstance(get_path(envelope, "data"), dict):
        iperf_error = get_text(envelope, "data", "error")
        return _shorten(f"iperf3: {iperf_error}") if iperf_error else None
    if status is None:
        return "not a result envelope (no status field)"
    error = get_path(envelope, "error")
    kind = get_text(envelope, "error_type") or "error"
    return _shorten(f"{kind}: {_error_message(error)}")


def _error_message(error: object) -> str:
    if not isinstance(error, dict):
        return str(error) if error else "no details recorded"
    for key in ("msg", "description"):
        text = error.get(key)
        if isinstance(text, str) and text and not text.startswith("Unexpected general"):
            return text
    description = error.get("description")
    if isinstance(description, str) and description:
        return description
    stdout = error.get("stdout")
    if isinstance(stdout, str):
        match = _IPERF_ERROR.search(stdout)
        if match:
            return f"iperf3: {match.group(1)}"
    stderr = error.get("stderr")
    if isinstance(stderr, str):
        lines = [
            line.strip()
            for line in stderr.splitlines()
            if line.strip() and not line.strip().startswith(_NOISE_PREFIXES)
        ]
        if lines:
            return lines[-1]
    code = error.get("returncode")
    return f"exit code {code}" if code is not None else "no details recorded"


def text_failure_reason(kind: str | None, text: str) -> str:
    """Reason for a failure stored as captured CLI output (parallel-TCP pair errors)."""
    match = _IPERF_ERROR.search(text)
    error_msg = re.search(r"Error Msg:\s*(.+)", text)
    if match:
        message = f"iperf3: {match.group(1)}"
    elif error_msg:
        message = error_msg.group(1).strip()
    else:
        code = re.search(r"Return Code:\s*(-?\d+)", text)
        message = f"exit code {code.group(1)}" if code else "no details recorded"
    return _shorten(f"{kind or 'error'}: {message}")


def _shorten(text: str) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= _MAX_REASON else flat[: _MAX_REASON - 1] + "…"


def _forward_sender_streams(iperf: JsonObject) -> list[JsonObject]:
    streams = get_path(iperf, "end", "streams")
    if not isinstance(streams, list):
        return []
    senders = []
    for stream in streams:
        sender = get_object(stream, "sender")
        if sender is not None and sender.get("sender") is True:
            senders.append(sender)
    return senders


def _mbps(value: float | None) -> float | None:
    return None if value is None else value / MBIT


def tcp_values(iperf: JsonObject) -> dict[str, float | None]:
    """Forward-direction figures of one iperf3 TCP ``--bidir`` run."""
    retransmits = get_number(iperf, "end", "sum_sent", "retransmits")
    sent_bytes = get_number(iperf, "end", "sum_sent", "bytes")
    mss = get_number(iperf, "start", "tcp_mss_default")
    cwnds = [c for s in _forward_sender_streams(iperf) if (c := get_number(s, "max_snd_cwnd"))]
    return {
        "tcp.throughput_mbps": _mbps(get_number(iperf, "end", "sum_sent", "bits_per_second")),
        "tcp.throughput_receiver_mbps": _mbps(
            get_number(iperf, "end", "sum_received", "bits_per_second")
        ),
        "tcp.reverse_throughput_mbps": _mbps(
            get_number(iperf, "end", "sum_sent_bidir_reverse", "bits_per_second")
        ),
        "tcp.retransmits": retransmits,
        "tcp.retransmit_rate_pct": retransmit_rate_pct(retransmits, sent_bytes, mss),
        "tcp.mss_bytes": mss,
        "tcp.max_cwnd_bytes": max(cwnds) if cwnds else None,
    }


def path_mtu(iperf: JsonObject) -> float | None:
    """The path MTU iperf3 saw on the forward stream in the first interval."""
    streams = get_path(iperf, "intervals", 0, "streams")
    if not isinstance(streams, list):
        return None
    for stream in streams:
        if get_path(stream, "sender") is True:
            return get_number(stream, "pmtu")
    return None


def parallel_pair_values(iperf: JsonObject) -> dict[str, float | None]:
    """One concurrent link's share of the parallel test (summed later)."""
    return {
        "parallel.throughput_mbps": _mbps(
            get_number(iperf, "end", "sum_sent", "bits_per_second")
        ),
        "parallel.retransmits": get_number(iperf, "end", "sum_sent", "retransmits"),
    }


def udp_values(iperf: JsonObject) -> dict[str, float | None]:
    """Forward-direction figures of one iperf3 UDP ``--bidir`` run."""
    return {
        "udp.blksize_bytes": get_number(iperf, "start", "test_start", "blksize"),
        "udp.throughput_mbps": _mbps(get_number(iperf, "end", "sum_sent", "bits_per_second")),
        "udp.receiver_mbps": _mbps(
            get_number(iperf, "end", "sum_received", "bits_per_second")
        ),
        "udp.lost_pct": get_number(iperf, "end", "sum_received", "lost_percent"),
        "udp.jitter_ms": get_number(iperf, "end", "sum_received", "jitter_ms"),
    }


def ping_values(summary: JsonObject) -> dict[str, float | None]:
    """The per-link ``average`` of each statistic over the legacy's three ping runs."""
    return {
        "ping.rtt_avg_ms": get_number(summary, "rtt_avg_ms", "average"),
        "ping.rtt_min_ms": get_number(summary, "rtt_min_ms", "average"),
        "ping.rtt_max_ms": get_number(summary, "rtt_max_ms", "average"),
        "ping.jitter_ms": get_number(summary, "rtt_mdev_ms", "average"),
        "ping.loss_pct": get_number(summary, "packet_loss_percent", "average"),
    }


def qperf_values(summary: JsonObject) -> dict[str, float | None]:
    return {
        "quic.handshake_ms": get_number(summary, "conn_time_ms", "average"),
        "quic.ttfb_ms": get_number(summary, "ttfb_ms", "average"),
        "quic.throughput_mbps": get_number(summary, "total_bandwidth_mbps", "average"),
    }


def nix_cache_values(hyperfine: JsonObject) -> dict[str, float | None]:
    """Mean of the timed hyperfine runs (the warm-up run is not in ``times``)."""
    times = get_path(hyperfine, "results", 0, "times")
    if isinstance(times, list):
        numbers = [float(t) for t in times if isinstance(t, int | float)]
        if numbers:
            return {"nix_cache.time_s": sum(numbers) / len(numbers)}
    return {"nix_cache.time_s": get_number(hyperfine, "results", 0, "mean")}


def rist_values(summary: JsonObject) -> dict[str, float | None]:
    """Receiver-side RIST figures; legacy keeps only per-second means, hence packets/s."""
    return {
        "rist.quality_pct": get_number(summary, "network", "quality", "average"),
        "rist.packets_lost": get_number(summary, "network", "packets_dropped", "average"),
        "rist.packets_recovered": get_number(summary, "network", "packets_recovered", "average"),
    }


_DURATION = re.compile(
    r"^(?:(?P<days>\d+) days?, )?(?P<h>\d+):(?P<m>\d{2}):(?P<s>\d{2}(?:\.\d+)?)$"
)


def parse_duration(text: str) -> float | None:
    """Seconds in a Python ``timedelta`` string such as ``0:00:09.068577``."""
    match = _DURATION.match(text.strip())
    if match is None:
        return None
    days = int(match["days"] or 0)
    return days * 86400 + int(match["h"]) * 3600 + int(match["m"]) * 60 + float(match["s"])


def first_vpn_success_seconds(timings: JsonObject) -> float | None:
    """``time_took`` of the first successful VPN peer, in file order (the legacy rule)."""
    results = get_object(timings, "vpn_results")
    if results is None:
        return None
    for entry in results.values():
        if get_text(entry, "status") == "success":
            took = get_text(entry, "time_took")
            return parse_duration(took) if took is not None else None
    return None


def restart_seconds(meta: JsonObject) -> float | None:
    """VPN restart plus connectivity wait booked on a test file; None if nothing restarted.

    WireGuard and Internal are never restarted by the legacy harness; their zeros mean
    "not measured", not "instant".
    """
    restart = get_number(meta, "vpn_restart_duration_seconds")
    wait = get_number(meta, "connectivity_wait_duration_seconds")
    if restart is None and wait is None:
        return None
    total = (restart or 0.0) + (wait or 0.0)
    return total if total > 0 else None
