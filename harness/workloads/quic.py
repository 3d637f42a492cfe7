"""QUIC over the overlay with the project's own tool ``vpb-quic`` (on quic-go): handshake time
and time to first byte over several short connections, then one bulk upload.

The tool lives in ``harness/workloads/quic_tool/`` (``make setup`` builds it into the venv's
bin). Its server makes a self-signed certificate in memory at start and its client skips
certificate verification: fine for a transport benchmark between the testbed's own
namespaces, and nothing else.

Parameters: :class:`QuicParams`. Metrics: :class:`QuicMetrics`, read by :func:`parse_quic`.
Analysis metrics: ``quic.*``.
"""

from __future__ import annotations

import json
import statistics
from collections.abc import Iterator
from typing import Any

from pydantic import Field

from harness.hosts.base import CommandResult, Host, Process
from harness.records.models import Status
from harness.topology import Link
from harness.waiting import WaitFailed, wait_until
from harness.workloads.base import (
    Measurement,
    Workload,
    WorkloadContext,
    WorkloadMetrics,
    WorkloadParams,
    now,
    parameter,
)
from harness.workloads.iperf import MAX_DURATION_S

BINARY = "vpb-quic"
#: QUIC's smallest datagram (RFC 9000 section 14): every path must carry this UDP payload.
MIN_DATAGRAM_BYTES = 1200
BUILD_HINT = ("build it with `make setup` (installs .venv/bin/vpb-quic from "
              "harness/workloads/quic_tool) or use the flake's vpn-bench-tools")


class QuicParams(WorkloadParams):
    """Parameters of the QUIC test."""

    connections_count: int = parameter(
        5, "Short connections per link, one after the other (each: handshake, one request, "
        "first byte of the answer).", ge=1, le=100)
    duration_s: int = parameter(
        30, "Seconds of the bulk upload on one more connection; whole seconds, like the "
        "iperf3 tests.", shared="duration", ge=1, le=MAX_DURATION_S)
    port: int = parameter(4433, "UDP port of the vpb-quic server on the target.",
                          ge=1024, le=65535)
    handshake_timeout_s: float = parameter(
        5.0, "Seconds a handshake may stay unanswered before the connection fails.",
        ge=0.5, le=60)


class QuicMetrics(WorkloadMetrics):
    """Every short connection's figures, their medians, and the bulk transfer (receiver's
    bytes over the receiver's time from first to last byte)."""

    handshake_samples_ms: list[float] = Field(default_factory=list)
    ttfb_samples_ms: list[float] = Field(default_factory=list)
    handshake_median_ms: float
    handshake_min_ms: float
    handshake_max_ms: float
    ttfb_median_ms: float
    ttfb_min_ms: float
    ttfb_max_ms: float
    bulk_sent_bytes: int
    bulk_received_bytes: int
    bulk_sender_s: float
    bulk_receiver_s: float
    bulk_handshake_ms: float
    throughput_mbps: float
    path_mtu_bytes: int | None = None
    ip_version: int
    gso: bool


class QuicError(ValueError):
    """vpb-quic reported a failure or printed no usable document."""


def mtu_problem(path_mtu: int, ip_version: int) -> str | None:
    """Why a path of ``path_mtu`` cannot carry QUIC, or None when it can: after the IP and
    UDP headers at least 1200 bytes of UDP payload must remain (an IPv6 overlay of MTU 1280
    leaves 1232, just enough; anything below 1248 over IPv6 or 1228 over IPv4 does not)."""
    if path_mtu <= 0:
        return None
    payload = path_mtu - (40 if ip_version == 6 else 20) - 8
    if payload >= MIN_DATAGRAM_BYTES:
        return None
    return (f"path MTU {path_mtu} too small for QUIC's {MIN_DATAGRAM_BYTES}-byte datagrams "
            f"({payload} bytes of UDP payload over IPv{ip_version})")


def _number(value: Any, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise QuicError(f"vpb-quic output: {what} is not a number: {value!r}")
    return float(value)


def parse_quic(text: str) -> QuicMetrics:
    """Metrics from the client's JSON document; its ``error`` becomes a QuicError (the MTU
    case with the path MTU and the payload it leaves)."""
    try:
        document = json.loads(text)
    except json.JSONDecodeError:
        first = text.strip().splitlines()[0] if text.strip() else "<no output>"
        raise QuicError(f"vpb-quic printed no JSON document: {first[:200]}") from None
    if not isinstance(document, dict) or document.get("tool") != BINARY:
        raise QuicError("vpb-quic output is not a vpb-quic report")
    ip_version = int(_number(document.get("ip_version", 4), "ip_version"))
    path_mtu = document.get("path_mtu")
    mtu = int(_number(path_mtu, "path_mtu")) if path_mtu else None
    if document.get("error"):
        problem = mtu_problem(mtu or 0, ip_version) if document.get("error_kind") == "mtu" \
            else None
        if problem is None and document.get("error_kind") == "handshake_timeout" and mtu:
            problem = f"vpb-quic: {document['error']} (path MTU {mtu})"
        raise QuicError(problem or f"vpb-quic: {document['error']}")
    connections = document.get("connections") or []
    bulk = document.get("bulk")
    if not connections or not isinstance(bulk, dict):
        raise QuicError("vpb-quic report has no connections or no bulk transfer")
    handshakes = [_number(c.get("handshake_ms"), "handshake_ms") for c in connections]
    ttfbs = [_number(c.get("ttfb_ms"), "ttfb_ms") for c in connections]
    return QuicMetrics(
        handshake_samples_ms=handshakes,
        ttfb_samples_ms=ttfbs,
        handshake_median_ms=statistics.median(handshakes),
        handshake_min_ms=min(handshakes),
        handshake_max_ms=max(handshakes),
        ttfb_median_ms=statistics.median(ttfbs),
        ttfb_min_ms=min(ttfbs),
        ttfb_max_ms=max(ttfbs),
        bulk_sent_bytes=int(_number(bulk.get("sent_bytes"), "sent_bytes")),
        bulk_received_bytes=int(_number(bulk.get("received_bytes"), "received_bytes")),
        bulk_sender_s=_number(bulk.get("sender_seconds"), "sender_seconds"),
        bulk_receiver_s=_number(bulk.get("receiver_seconds"), "receiver_seconds"),
        bulk_handshake_ms=_number(bulk.get("handshake_ms"), "handshake_ms"),
        throughput_mbps=_number(bulk.get("throughput_mbps"), "throughput_mbps"),
        path_mtu_bytes=mtu,
        ip_version=ip_version,
        gso=bool(document.get("gso")),
    )


def client_command(address: str, params: QuicParams) -> list[str]:
    return [BINARY, "client", "--server", address, "--port", str(params.port),
            "--connections", str(params.connections_count),
            "--duration", str(params.duration_s),
            "--handshake-timeout", f"{params.handshake_timeout_s:g}"]


def _listening(host: Host, port: int) -> bool:
    result = host.run(["ss", "-Huln", f"sport = :{port}"], timeout=5)
    return result.ok and bool(result.stdout.strip())


def _tail(text: str, lines: int = 20) -> str:
    return "\n".join(text.strip().splitlines()[-lines:])


class QuicWorkload(Workload[QuicParams, QuicMetrics]):
    name = "quic"
    binaries = (BINARY,)
    params_model = QuicParams
    metrics_model = QuicMetrics

    def unavailable_reason(self, host: Host) -> str | None:
        reason = super().unavailable_reason(host)
        return f"{reason}; {BUILD_HINT}" if reason else None

    def run(self, ctx: WorkloadContext[QuicParams], links: list[Link]) -> Iterator[Measurement]:
        for link in links:
            yield self.measure(ctx, link)

    def measure(self, ctx: WorkloadContext[QuicParams], link: Link) -> Measurement:
        """One link: a fresh server on the target (bounded by its --lifetime too), the client
        on the source; a failure carries both ends' output tails."""
        params = ctx.params
        source, target = ctx.testbed.host(link.source), ctx.testbed.host(link.target)
        command = client_command(ctx.addresses[link.target], params)
        started = now()
        server_name = f"quic-server-{link.target}"
        server: Process = target.start(
            [BINARY, "server", "--port", str(params.port),
             "--lifetime", f"{ctx.timeout_s + 30:g}"], name=server_name)
        result: CommandResult | None = None
        try:
            wait_until(lambda: _listening(target, params.port), timeout_s=10, interval_s=0.05,
                       what=f"vpb-quic server on {target.name}:{params.port}",
                       abort=lambda: [] if server.is_running() else
                       [f"vpb-quic server exited: {server.log_tail(5)}"])
            result = source.run(command, timeout=ctx.timeout_s)
        except WaitFailed as error:
            failure = str(error)
        finally:
            server_log = server.log_tail(20)
            server.stop(timeout=3.0)
        tails = {f"{target.name}/vpb-quic-server": server_log}
        if result is None:
            return Measurement(link, Status.FAILED, started, now(), error=failure,
                               command=command, log_tails=tails)
        measurement = Measurement(link, Status.OK, started, now(), command=command,
                                  raw_output=result.stdout, raw_extension="json")
        tails[f"{source.name}/vpb-quic-client"] = _tail(result.stderr)
        if result.timed_out:
            measurement.status = Status.TIMEOUT
            measurement.error = f"vpb-quic client did not finish within {ctx.timeout_s:g}s"
        else:
            try:
                measurement.metrics = parse_quic(result.stdout)
            except QuicError as error:
                measurement.status = Status.FAILED
                measurement.error = str(error)
        if measurement.status is not Status.OK:
            measurement.log_tails.update(tails)
        return measurement

    def nominal_duration_s(self, params: QuicParams, links: int) -> float:
        # Server start, the short connections (a fraction of a second each), the bulk.
        return float((1 + params.connections_count * 0.2 + params.duration_s) * links)

    def analysis_values(self, metrics: QuicMetrics) -> dict[str, float | None]:
        return {
            "quic.handshake_ms": metrics.handshake_median_ms,
            "quic.handshake_max_ms": metrics.handshake_max_ms,
            "quic.ttfb_ms": metrics.ttfb_median_ms,
            "quic.ttfb_max_ms": metrics.ttfb_max_ms,
            "quic.throughput_mbps": metrics.throughput_mbps,
        }

    def summary(self, metrics: QuicMetrics) -> str:
        return (f"handshake {metrics.handshake_median_ms:.1f} ms, ttfb "
                f"{metrics.ttfb_median_ms:.1f} ms, {metrics.throughput_mbps:.0f} Mbit/s")
