"""A live video stream over RIST, measured where it arrives.

The source encodes a synthetic test pattern (ffmpeg lavfi ``testsrc2``, libx264) at a fixed
bitrate in real time and sends it as MPEG-TS over RIST (librist, with its ARQ retransmissions)
to the target's overlay address. On the target, ``ristreceiver`` takes the RIST flow (printing
librist's JSON statistics every ``stats_interval_ms``) and hands the recovered stream over
loopback UDP to a second ffmpeg that decodes every frame into the null muxer.

The RIST packets are sized to the link: the source asks its kernel for the path MTU towards
the target (``ip route get``: the route's ``mtu`` metric, else its device's MTU) and puts as
many 188-byte TS packets in each RIST packet as fit unfragmented after the IP, UDP and RIST
headers (at most 7, the usual 1316 bytes). Overlays of MTU 1280 thus get 6 TS packets; the
record keeps path MTU, IP version and payload. The receiver listens on the target address's
family (``[::]`` for an IPv6 overlay, which ``0.0.0.0`` would never receive).

What is measured is the network, not the encoder: frames decoded on the target against frames
the sender encoded, librist's packet statistics (lost, recovered, retransmission requests) and
its per-interval link quality. The sender's speed is kept too: an encoder below real time
sends fewer frames than planned, and the record says so.

Parameters: :class:`RistParams`. Metrics: :class:`RistMetrics`, built by :func:`parse_rist`
from the three outputs. Analysis metrics: ``rist.*``.
"""

from __future__ import annotations

import json
import re
import signal
import time
from collections.abc import Iterator, Mapping
from typing import Literal

from pydantic import Field

from harness.hosts.base import Host, Process
from harness.records.models import Status, Strict
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

#: ffmpeg's speed below which the encoder did not keep real time.
REAL_TIME_SPEED = 0.95
#: Seconds to start the receiver side, the sender's encoder, and to drain after the stream.
SETUP_S = 4.0
#: Size of one MPEG transport-stream packet; a RIST payload is a whole number of them.
TS_PACKET_BYTES = 188
#: Largest MPEG-TS payload per RIST packet: 7 TS packets (the usual 1316 bytes, as over UDP).
PACKET_BYTES = 7 * TS_PACKET_BYTES
#: Bytes librist puts before the payload in a UDP datagram, per profile (measured on
#: librist 0.2.7: simple = RTP 12; main = GRE-over-UDP 8 + RTP 12).
RIST_HEADER_BYTES = {"simple": 12, "main": 20}
UDP_HEADER_BYTES = 8
IP_HEADER_BYTES = {4: 20, 6: 40}
#: Seconds a receiving process may take to bind its port: the first ffmpeg of a run, its
#: libraries not yet in the page cache, took 3.8 s on an idle host here and once not even 10 s.
LISTEN_TIMEOUT_S = 30.0
#: Seconds beyond buffer and idle timeout the decoder may take to end after the sender.
DRAIN_S = 5.0
#: Seconds a link takes beyond stream, buffer and idle timeout (start of the receiver and
#: decoder, the encoder's start, teardown): measured 1.6-2 s here, for the estimate.
OVERHEAD_S = 2.0
MBIT = 1e6


class RistParams(WorkloadParams):
    """Parameters of the RIST video test (defaults: small enough for a 2-core host)."""

    duration_s: int = parameter(
        30, "Seconds per test (rist: of video streamed per link); whole seconds, as iperf3 --time.",
        shared="duration", ge=1, le=MAX_DURATION_S)
    width_px: int = parameter(640, "Video width in pixels (even).", ge=16, le=3840,
                              multiple_of=2)
    height_px: int = parameter(360, "Video height in pixels (even).", ge=16, le=2160,
                               multiple_of=2)
    fps: int = parameter(25, "Frames per second of the test pattern.", ge=1, le=120)
    bitrate_kbps: int = parameter(2000, "Video bitrate in kbit/s (libx264 -b:v and -maxrate).",
                                  ge=100, le=100_000)
    keyframe_interval_s: int = parameter(
        2, "Seconds between keyframes (libx264 -g = this × fps): how long a picture damaged "
        "beyond recovery stays damaged.", ge=1, le=10)
    preset: Literal["ultrafast", "superfast", "veryfast", "faster", "fast", "medium"] = (
        parameter("ultrafast", "libx264 preset; slower presets may not keep real time."))
    profile: Literal["simple", "main"] = parameter(
        "main", "RIST profile (simple: RTP with ARQ on port and port+1; main: one port).")
    buffer_ms: int = parameter(
        1000, "librist recovery buffer in ms, both ends: how long a lost packet may take to "
        "be retransmitted.", ge=50, le=30_000)
    port: int = parameter(8200, "UDP port ristreceiver listens on at the target (even; the "
                          "simple profile also uses port+1).", ge=1024, le=65534,
                          multiple_of=2)
    local_port: int = parameter(8300, "Loopback UDP port on the target from ristreceiver to "
                                "the decoding ffmpeg.", ge=1024, le=65535)
    idle_timeout_s: int = parameter(
        4, "Seconds without data after which the decoder takes the stream as ended (plus "
        "buffer_ms: also how long it waits for the first packet).", ge=1, le=60)
    stats_interval_ms: int = parameter(1000, "Interval of librist's receiver statistics, ms.",
                                       ge=100, le=10_000)
    packet_bytes: int = parameter(
        0, "MPEG-TS payload per RIST packet in bytes, a multiple of 188; 0: the most the "
        "link's path MTU carries unfragmented (at most 1316).", ge=0, le=PACKET_BYTES,
        multiple_of=TS_PACKET_BYTES)


class RistInterval(Strict):
    """One librist receiver-statistics interval (``flowinstant``) that carried data."""

    quality_pct: float
    received: int
    missing: int
    recovered: int
    lost: int
    retries: int
    #: Packets librist discarded: arrived too late, or its buffer was full.
    dropped: int
    bitrate_bps: float
    rtt_ms: float | None = None


class RistMetrics(WorkloadMetrics):
    """One RIST stream on one link, measured at the receiver.

    Quality figures, all 0-100:

    * ``quality_pct`` (analysis ``rist.quality_pct``): mean over the statistics intervals
      that carried data of librist's receiver ``quality``, which is 100 × received /
      (received + missing) of the interval: the share of packets that arrived without
      needing a retransmission (checked against captured output). The same definition as
      the legacy data. Whether the missing ones were recovered in time is
      ``packets_recovered`` / ``packets_lost``.
    * ``frames_decoded_pct``: 100 × frames the receiver's ffmpeg decoded / frames the
      sender encoded (capped at 100).
    * ``frames_clean_pct``: as above, but frames the decoder had to conceal errors in
      (libavcodec's "concealing … errors" lines) do not count.
    """

    frames_sent: int
    frames_decoded: int
    frames_concealed: int
    frames_decoded_pct: float
    frames_clean_pct: float
    quality_pct: float | None
    quality_min_pct: float | None
    packets_received: int
    packets_recovered: int
    packets_lost: int
    #: librist retransmission requests (NACKed packets) over the stream.
    retransmit_requests: int
    #: Packets librist discarded (too late, or its buffer full).
    packets_dropped: int
    #: Seconds of statistics intervals that carried data (the per-second rates' base).
    stream_s: float
    bitrate_bps: float | None
    rtt_ms: float | None
    encoder_speed: float | None
    #: True when the encoder fell below real time (speed < 0.95): fewer frames than planned.
    encoder_below_real_time: bool
    sender_bitrate_kbps: float | None = None
    #: The path the stream took: MTU towards the target (None: not known), IP version, and
    #: the MPEG-TS payload per RIST packet chosen for it.
    path_mtu_bytes: int | None = None
    ip_version: int | None = None
    payload_bytes: int | None = None
    intervals: list[RistInterval] = Field(default_factory=list)


class RistError(ValueError):
    """An output the parser cannot read figures from."""


# -- parsers: pure functions on captured text -------------------------------------------

_PROGRESS = re.compile(r"^(\w+)=\s*(.*?)\s*$")
_FRAME = re.compile(r"\bframe=\s*(\d+)")
_CONCEALING = re.compile(r"concealing \d+ DC, \d+ AC, \d+ MV errors")
_STATS = '{"receiver-stats":'


def parse_progress(text: str) -> dict[str, str]:
    """The last complete block of ffmpeg's ``-progress`` key=value output (ends with
    ``progress=...``); RistError when there is none."""
    block: dict[str, str] = {}
    last: dict[str, str] | None = None
    for line in text.splitlines():
        match = _PROGRESS.match(line.strip())
        if match is None:
            continue
        block[match.group(1)] = match.group(2)
        if match.group(1) == "progress":
            last, block = block, {}
    if last is None or "frame" not in last:
        raise RistError("ffmpeg printed no progress report")
    return last


def _number(value: str | None) -> float | None:
    """ffmpeg's ``1.02x`` / ``2119.3kbits/s`` / ``N/A`` as a number (None when absent)."""
    match = re.match(r"[-+]?\d+(?:\.\d+)?", value or "")
    return float(match.group(0)) if match else None


def sent_frames(sender: str) -> int:
    """Frames the sending ffmpeg reports sent (0 when it printed no progress)."""
    try:
        return int(_number(parse_progress(sender).get("frame")) or 0)
    except RistError:
        return 0


def decoded_frames(text: str) -> int:
    """The decoding ffmpeg's last frame count: its final report line, or the last progress
    block when it was stopped before that (0 when it never opened a stream)."""
    counts = _FRAME.findall(text)
    return int(counts[-1]) if counts else 0


def count_concealed_frames(text: str) -> int:
    """Frames libavcodec's decoder concealed errors in (one log line per damaged frame)."""
    return sum(1 for line in text.splitlines() if _CONCEALING.search(line))


def receiver_stats(text: str) -> list[dict[str, object]]:
    """ristreceiver's ``flowinstant`` statistics objects, from its log lines
    ``<time>|<thread>|[INFO] {"receiver-stats":{"flowinstant":{...}}}``."""
    instants: list[dict[str, object]] = []
    for line in text.splitlines():
        start = line.find(_STATS)
        if start < 0:
            continue
        try:
            document = json.loads(line[start:])
        except json.JSONDecodeError:
            continue  # a line cut short when the receiver was stopped
        instant = document["receiver-stats"].get("flowinstant")
        if isinstance(instant, dict):
            instants.append(instant)
    return instants


def _interval(instant: Mapping[str, object]) -> RistInterval | None:
    """The interval's figures, or None when the flow carried nothing in it. (librist 0.2.7
    reports a bogus ``lost`` of 65535 - received when a flow ends: in such an interval
    nothing was received or missing, so it is left out with the idle ones. Under heavy
    reordering it also reports 131071 or 131073 in intervals with data: see
    :func:`bound_losses`.)"""
    stats = instant.get("stats")
    if not isinstance(stats, dict):
        return None
    received, missing = int(stats.get("received", 0)), int(stats.get("missing", 0))
    if received == 0 and missing == 0:
        return None
    peers = instant.get("peers")
    rtts = [float(peer["stats"]["avg_rtt"]) for peer in peers or []
            if isinstance(peer, dict) and float(peer.get("stats", {}).get("avg_rtt", 0)) > 0
            ] if isinstance(peers, list) else []
    recovered, lost = int(stats.get("recovered_total", 0)), int(stats.get("lost", 0))
    return RistInterval(
        quality_pct=float(stats.get("quality", 100.0)),
        received=received,
        missing=missing,
        recovered=recovered,
        lost=lost,
        retries=int(stats.get("retries", 0)),
        dropped=int(stats.get("dropped_late", 0)) + int(stats.get("dropped_full", 0)),
        bitrate_bps=float(stats.get("bitrate", 0.0)),
        rtt_ms=sum(rtts) / len(rtts) if rtts else None,
    )


def bound_losses(intervals: list[RistInterval]) -> list[RistInterval]:
    """The intervals with each ``lost`` cut to what can have been lost by then: the packets
    that went missing so far, less those recovered and those already counted lost. (librist
    0.2.7 under heavy reordering reports ``lost`` of 131071 or 131073 in an interval that
    missed one or sixteen packets: a counter artifact, not a loss.)"""
    bounded: list[RistInterval] = []
    unrecovered = 0
    for interval in intervals:
        unrecovered += interval.missing - interval.recovered
        lost = min(interval.lost, max(0, unrecovered))
        unrecovered -= lost
        bounded.append(interval if lost == interval.lost
                       else interval.model_copy(update={"lost": lost}))
    return bounded


def _pct(part: int, whole: int) -> float:
    return 0.0 if whole <= 0 else min(100.0, max(0.0, 100.0 * part / whole))


def _mean(values: list[float]) -> float | None:
    return sum(values) / len(values) if values else None


def parse_rist(sender: str, receiver: str, decoder: str,
               stats_interval_ms: int = 1000) -> RistMetrics:
    """Metrics from the sender's ``-progress`` output, ristreceiver's log and the decoding
    ffmpeg's output (progress plus log); RistError when the sender reported nothing."""
    sent = parse_progress(sender)
    frames_sent = sent_frames(sender)
    frames_decoded = decoded_frames(decoder)
    concealed = min(count_concealed_frames(decoder), frames_decoded)
    speed = _number(sent.get("speed"))
    intervals = bound_losses([i for i in map(_interval, receiver_stats(receiver))
                              if i is not None])
    qualities = [i.quality_pct for i in intervals]
    return RistMetrics(
        frames_sent=frames_sent,
        frames_decoded=frames_decoded,
        frames_concealed=concealed,
        frames_decoded_pct=_pct(frames_decoded, frames_sent),
        frames_clean_pct=_pct(frames_decoded - concealed, frames_sent),
        quality_pct=_mean(qualities),
        quality_min_pct=min(qualities, default=None),
        packets_received=sum(i.received for i in intervals),
        packets_recovered=sum(i.recovered for i in intervals),
        packets_lost=sum(i.lost for i in intervals),
        retransmit_requests=sum(i.retries for i in intervals),
        packets_dropped=sum(i.dropped for i in intervals),
        stream_s=len(intervals) * stats_interval_ms / 1000,
        bitrate_bps=_mean([i.bitrate_bps for i in intervals if i.bitrate_bps > 0]),
        rtt_ms=_mean([i.rtt_ms for i in intervals if i.rtt_ms is not None]),
        encoder_speed=speed,
        encoder_below_real_time=speed is not None and speed < REAL_TIME_SPEED,
        sender_bitrate_kbps=_number(sent.get("bitrate")),
        intervals=intervals,
    )


# -- the path: MTU and payload size (pure) ----------------------------------------------

def ip_version_of(address: str) -> int:
    """4 or 6: the family of an overlay address (IPv6 literals contain a colon)."""
    return 6 if ":" in address else 4


def ip_packet_bytes(payload_bytes: int, ip_version: int, profile: str) -> int:
    """Size of the IP packet carrying one RIST packet of ``payload_bytes``."""
    return (payload_bytes + RIST_HEADER_BYTES[profile] + UDP_HEADER_BYTES
            + IP_HEADER_BYTES[ip_version])


def payload_for_mtu(path_mtu: int, ip_version: int, profile: str) -> int:
    """The largest whole number of TS packets (at most 7) whose RIST packet fits ``path_mtu``
    unfragmented, in bytes; 0 when not even one does."""
    room = path_mtu - ip_packet_bytes(0, ip_version, profile)
    return max(0, min(PACKET_BYTES, room // TS_PACKET_BYTES * TS_PACKET_BYTES))


def parse_route(text: str) -> tuple[str, int | None]:
    """Device and route MTU (None without one) of ``ip -j route get`` output; RistError when
    the output names no device."""
    try:
        routes = json.loads(text)
    except json.JSONDecodeError:
        routes = None
    route = routes[0] if isinstance(routes, list) and routes else None
    if not isinstance(route, dict) or not isinstance(route.get("dev"), str):
        raise RistError(f"ip route get printed no route: {text.strip()[:200]!r}")
    mtu: int | None = None
    for metric in route.get("metrics") or []:
        value = metric.get("mtu") if isinstance(metric, dict) else None
        if isinstance(value, list):  # tolerated: a list form such as ["lock", 1200]
            value = next((v for v in value if isinstance(v, int)), None)
        if isinstance(value, int) and value > 0:
            mtu = value
    return route["dev"], mtu


def parse_link_mtu(text: str) -> int:
    """The MTU of ``ip -j link show dev X`` output; RistError when there is none."""
    try:
        links = json.loads(text)
    except json.JSONDecodeError:
        links = None
    link = links[0] if isinstance(links, list) and links else None
    mtu = link.get("mtu") if isinstance(link, dict) else None
    if not isinstance(mtu, int) or mtu <= 0:
        raise RistError(f"ip link show printed no MTU: {text.strip()[:200]!r}")
    return mtu


def describe_path(metrics: RistMetrics, profile: str) -> str:
    """``IPv6, path MTU 1280, 1128-byte payload in 1196-byte packets`` for reasons."""
    parts = [f"IPv{metrics.ip_version}"] if metrics.ip_version else []
    if metrics.path_mtu_bytes:
        parts.append(f"path MTU {metrics.path_mtu_bytes}")
    if metrics.payload_bytes and metrics.ip_version:
        parts.append(f"{metrics.payload_bytes}-byte payload in "
                     f"{ip_packet_bytes(metrics.payload_bytes, metrics.ip_version, profile)}"
                     "-byte packets")
    return ", ".join(parts)


# -- commands ---------------------------------------------------------------------------

def sender_command(address: str, params: RistParams,
                   payload_bytes: int = PACKET_BYTES) -> list[str]:
    """ffmpeg on the source: test pattern, encoded in real time (-re), MPEG-TS over RIST in
    packets of ``payload_bytes``."""
    rate = f"{params.bitrate_kbps}k"
    host = f"[{address}]" if ":" in address else address
    return [
        "ffmpeg", "-hide_banner", "-nostdin", "-nostats", "-loglevel", "repeat+info",
        "-re", "-f", "lavfi",
        "-i", f"testsrc2=size={params.width_px}x{params.height_px}:rate={params.fps}",
        "-t", str(params.duration_s),
        "-c:v", "libx264", "-preset", params.preset, "-tune", "zerolatency",
        "-b:v", rate, "-maxrate", rate, "-bufsize", f"{max(params.bitrate_kbps // 2, 50)}k",
        "-g", str(params.keyframe_interval_s * params.fps), "-pix_fmt", "yuv420p",
        "-progress", "pipe:1", "-stats_period", "1",
        "-f", "mpegts", "-rist_profile", params.profile,
        "-buffer_size", str(params.buffer_ms), "-pkt_size", str(payload_bytes),
        f"rist://{host}:{params.port}",
    ]


def receiver_command(params: RistParams, ip_version: int = 4) -> list[str]:
    """ristreceiver on the target: the RIST flow in (listening on the overlay address's
    family: an IPv4 socket never sees IPv6 datagrams), the recovered stream out over
    loopback."""
    profile = {"simple": "0", "main": "1"}[params.profile]
    listen = "[::]" if ip_version == 6 else "0.0.0.0"
    return [
        "ristreceiver", "-p", profile, "-S", str(params.stats_interval_ms), "-v", "6",
        "-b", str(params.buffer_ms),
        "-i", f"rist://@{listen}:{params.port}",
        "-o", f"udp://127.0.0.1:{params.local_port}",
    ]


def decoder_command(params: RistParams) -> list[str]:
    """ffmpeg on the target: decode every frame of the loopback stream, count them."""
    return [
        "ffmpeg", "-hide_banner", "-nostdin", "-nostats", "-loglevel", "repeat+info",
        "-progress", "pipe:1", "-stats_period", "0.5",
        "-probesize", "500000", "-analyzeduration", "1000000", "-f", "mpegts",
        "-i", f"udp://127.0.0.1:{params.local_port}?overrun_nonfatal=1&fifo_size=1000000"
        f"&timeout={params.buffer_ms * 1000 + params.idle_timeout_s * 1_000_000}",
        "-map", "0:v", "-f", "null", "-",
    ]


# -- the run ----------------------------------------------------------------------------

def _listening_udp(host: Host, port: int) -> bool:
    result = host.run(["ss", "-Huln", f"sport = :{port}"], timeout=5)
    return result.ok and bool(result.stdout.strip())


def _wait_listening(host: Host, port: int, process: Process, what: str) -> str | None:
    """Wait (bounded) until ``process`` on ``host`` has bound UDP ``port``; why not, if not."""
    try:
        wait_until(lambda: _listening_udp(host, port), timeout_s=LISTEN_TIMEOUT_S,
                   interval_s=0.05,
                   what=f"{what} on {host.name}:{port}",
                   abort=lambda: [] if process.is_running()
                   else [f"{what} exited: {process.log_tail(5)}"])
    except WaitFailed as error:
        return str(error)
    return None


def _decoder_finished(decoder: Process, frames_sent: int, timeout_s: float) -> bool:
    """Wait until the decoder exits (True) or, bounded by ``timeout_s``, reports all
    ``frames_sent`` frames decoded (False: still running, to be ended)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if decoder.wait(0.1) is not None:
            return True
        if 0 < frames_sent <= decoded_frames(decoder.output()):
            return False
    return decoder.wait(0) is not None


def _tail(text: str, lines: int = 30) -> str:
    return "\n".join(text.strip().splitlines()[-lines:])


def _raw(sender: str, receiver: str, decoder: str) -> str:
    return (f"== sender: ffmpeg -progress ==\n{sender.strip()}\n"
            f"== target: ristreceiver ==\n{receiver.strip()}\n"
            f"== target: decoding ffmpeg ==\n{decoder.strip()}\n")


class RistWorkload(Workload[RistParams, RistMetrics]):
    name = "rist"
    binaries = ("ffmpeg", "ristreceiver", "ss")
    params_model = RistParams
    metrics_model = RistMetrics
    minimum_timeout_s = 30.0

    def run(self, ctx: WorkloadContext[RistParams], links: list[Link]) -> Iterator[Measurement]:
        for link in links:
            yield self.measure(ctx, link)

    def measure(self, ctx: WorkloadContext[RistParams], link: Link) -> Measurement:
        """One stream source -> target; every failure is a measurement with its reason."""
        params = ctx.params
        source, target = ctx.testbed.host(link.source), ctx.testbed.host(link.target)
        address = ctx.addresses[link.target]
        ip_version = ip_version_of(address)
        started = now()
        for host in (source, target):
            reason = self.unavailable_reason(host)
            if reason:
                return Measurement(link, Status.FAILED, started, now(),
                                   command=sender_command(address, params),
                                   error=f"rist not runnable on {host.name}: {reason}")
        try:
            path_mtu = self.path_mtu(source, address)
        except RistError as error:
            return Measurement(link, Status.FAILED, started, now(),
                               command=sender_command(address, params),
                               error=f"no path from {source.name} to {address}: {error}")
        payload = params.packet_bytes or payload_for_mtu(path_mtu, ip_version, params.profile)
        command = sender_command(address, params, payload or PACKET_BYTES)
        if payload == 0:
            return Measurement(
                link, Status.FAILED, started, now(), command=command,
                error=f"path MTU {path_mtu} too small for one {TS_PACKET_BYTES}-byte TS packet "
                f"per RIST packet ({ip_packet_bytes(TS_PACKET_BYTES, ip_version, params.profile)}"
                f" bytes over IPv{ip_version})")
        # a name of its own per attempt: a host appends a name's output to one log, and a
        # retry must not count the failed attempt's statistics and frames again
        attempt = f"{link.target}-{started:%H%M%S%f}"
        receiver = target.start(receiver_command(params, ip_version),
                                name=f"ristreceiver-{attempt}")
        decoder: Process | None = None
        try:
            # Both ends of the target listen before the first packet is sent: a decoder still
            # starting would miss the stream's first keyframe, and its frames would be counted
            # as the network's loss (seen on a host with CPU steal: 25 of 75 frames decoded
            # while librist received every packet).
            problem = _wait_listening(target, params.port, receiver, "ristreceiver")
            if problem is None:
                decoder = target.start(decoder_command(params),
                                       name=f"rist-decoder-{attempt}")
                problem = _wait_listening(target, params.local_port, decoder,
                                          "the decoding ffmpeg")
            if problem is not None or decoder is None:
                measurement = Measurement(link, Status.FAILED, started, now(),
                                          command=command, error=problem or "")
                self._tails(measurement, target, receiver.output(),
                            decoder.output() if decoder else "", "")
                return measurement
            result = source.run(command, timeout=max(ctx.timeout_s - SETUP_S, 5.0))
            # The decoder ends by itself once the stream has been idle for idle_timeout_s (a
            # clean end of input: demuxer and decoder flushed, every frame counted); once it
            # reports every sent frame decoded there is nothing left to wait for.
            if not _decoder_finished(decoder, sent_frames(result.stdout),
                                     params.buffer_ms / 1000 + params.idle_timeout_s + DRAIN_S):
                decoder.signal(signal.SIGINT)  # ffmpeg: the 2nd signal interrupts a read
                if decoder.wait(0.3) is None:
                    decoder.signal(signal.SIGINT)
                decoder.wait(5.0)
        finally:
            if decoder is not None:
                decoder.stop(timeout=3.0)
            receiver.stop(timeout=3.0)
        receiver_text, decoder_text = receiver.output(), decoder.output() if decoder else ""
        measurement = Measurement(link, Status.OK, started, now(), command=command,
                                  raw_output=_raw(result.stdout, receiver_text, decoder_text))
        try:
            metrics = parse_rist(result.stdout, receiver_text, decoder_text,
                                 params.stats_interval_ms).model_copy(update={
                                     "path_mtu_bytes": path_mtu, "ip_version": ip_version,
                                     "payload_bytes": payload})
        except RistError as error:
            metrics = None
            measurement.status = Status.TIMEOUT if result.timed_out else Status.FAILED
            measurement.error = f"sender: {error}" + (
                f" ({result.describe()})" if not result.ok else "") + (
                f" (IPv{ip_version}, path MTU {path_mtu}, {payload}-byte payload)")
        if metrics is not None:
            measurement.metrics = metrics
            problem = self.problem(metrics, result.timed_out, params.profile)
            if problem:
                measurement.status = Status.TIMEOUT if result.timed_out else Status.FAILED
                measurement.error = problem
            elif metrics.encoder_below_real_time:
                measurement.error = (f"note: encoder below real time (speed "
                                     f"{metrics.encoder_speed:g}x): fewer frames sent than "
                                     f"{params.duration_s * params.fps} planned")
        if measurement.status is not Status.OK:
            self._tails(measurement, target, receiver_text, decoder_text, result.stderr,
                        source)
        return measurement

    @staticmethod
    def path_mtu(host: Host, address: str) -> int:
        """The MTU of ``host``'s route to ``address``: the route's own ``mtu`` (a learnt
        path MTU or a locked one) where it has one, else its device's; RistError when the
        kernel has no route."""
        route = host.run(["ip", "-j", "route", "get", address], timeout=10)
        if not route.ok:
            raise RistError(_tail(route.stderr or route.stdout, 1) or route.describe())
        device, mtu = parse_route(route.stdout)
        link = host.run(["ip", "-j", "link", "show", "dev", device], timeout=10)
        if not link.ok:
            raise RistError(_tail(link.stderr or link.stdout, 1) or link.describe())
        device_mtu = parse_link_mtu(link.stdout)
        return device_mtu if mtu is None else min(mtu, device_mtu)

    @staticmethod
    def problem(metrics: RistMetrics, timed_out: bool, profile: str = "main") -> str | None:
        """Why a parsed stream is not a measurement (None when it is), naming where the
        stream stopped: at the network (no RIST packet arrived) or at the decoder."""
        if timed_out:
            return "the sender did not finish in time"
        if metrics.frames_sent == 0:
            return "the sender encoded no frames"
        if metrics.frames_decoded > 0:
            return None
        path = describe_path(metrics, profile)
        path = f" ({path})" if path else ""
        if metrics.packets_received == 0:
            return (f"no RIST data packet reached the receiver: the overlay did not carry "
                    f"the stream{path}")
        return (f"the receiver got {metrics.packets_received} RIST packets "
                f"({metrics.packets_dropped} dropped, {metrics.packets_lost} lost) but decoded "
                f"no frames{path}")

    @staticmethod
    def _tails(measurement: Measurement, target: Host, receiver: str, decoder: str,
               sender_stderr: str, source: Host | None = None) -> None:
        measurement.log_tails[f"{target.name}/ristreceiver"] = _tail(receiver)
        measurement.log_tails[f"{target.name}/ffmpeg-decoder"] = _tail(decoder)
        if source is not None:
            measurement.log_tails[f"{source.name}/ffmpeg-sender"] = _tail(sender_stderr)

    def nominal_duration_s(self, params: RistParams, links: int) -> float:
        return (params.duration_s + params.buffer_ms / 1000 + OVERHEAD_S
                + params.idle_timeout_s) * links

    def analysis_values(self, metrics: RistMetrics) -> dict[str, float | None]:
        per_s = metrics.stream_s if metrics.stream_s > 0 else None
        return {
            "rist.quality_pct": metrics.quality_pct,
            "rist.packets_lost": metrics.packets_lost / per_s if per_s else None,
            "rist.packets_recovered": metrics.packets_recovered / per_s if per_s else None,
            "rist.frames_decoded_pct": metrics.frames_decoded_pct,
            "rist.frames_clean_pct": metrics.frames_clean_pct,
            "rist.packets_lost_total": float(metrics.packets_lost),
            "rist.packets_recovered_total": float(metrics.packets_recovered),
            "rist.retransmit_requests": float(metrics.retransmit_requests),
            "rist.bitrate_mbps": (None if metrics.bitrate_bps is None
                                  else metrics.bitrate_bps / MBIT),
            "rist.encoder_speed": metrics.encoder_speed,
        }

    def summary(self, metrics: RistMetrics) -> str:
        quality = "n/a" if metrics.quality_pct is None else f"{metrics.quality_pct:.1f}%"
        slow = " (encoder below real time)" if metrics.encoder_below_real_time else ""
        return (f"{metrics.frames_decoded}/{metrics.frames_sent} frames, quality {quality}, "
                f"{metrics.packets_lost} lost, {metrics.packets_recovered} recovered{slow}")
