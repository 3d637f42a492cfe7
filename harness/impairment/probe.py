"""Probe traffic for the link check: numbered, time-stamped UDP datagrams.

    python -m harness.impairment.probe send --to ADDR --port P --count N --interval-us I
    python -m harness.impairment.probe receive --bind ADDR --port P --count N \\
        --max-seconds S --out FILE --ready FILE
    python -m harness.impairment.probe sched --count N --sleep-us U

``sched`` is the scheduling-latency probe of harness/monitoring/contention.py: it sleeps N
times for U microseconds and prints, as one JSON line, how much later than asked each sleep
ended (a busy run queue or a stolen CPU shows up as oversleep). It is small on purpose (N
short sleeps, no traffic), so it can run next to a measurement without disturbing it.

The hosts of the local testbed share one clock (CLOCK_MONOTONIC is not namespaced), so the
receiver's arrival time minus the sender's time stamp is the one-way delay. Both sides are
bounded: the sender sends exactly N datagrams, the receiver stops after N distinct ones,
after --max-seconds, or on SIGTERM/SIGINT, and then writes what it saw as JSON.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import socket
import struct
import sys
import time
from pathlib import Path
from types import FrameType

MAGIC = b"VPBP"
HEADER = struct.Struct("!4sIIQ")  # magic, run tag, sequence number, send time (ns)
MIN_SIZE = HEADER.size
MAX_COUNT = 1_000_000
MAX_SECONDS = 600.0


def encode(tag: int, sequence: int, sent_ns: int, size: int) -> bytes:
    return HEADER.pack(MAGIC, tag, sequence, sent_ns).ljust(size, b"\0")


def decode(datagram: bytes, tag: int) -> tuple[int, int] | None:
    """(sequence, send time) of one of our datagrams, else None."""
    if len(datagram) < HEADER.size:
        return None
    magic, got_tag, sequence, sent_ns = HEADER.unpack_from(datagram)
    if magic != MAGIC or got_tag != tag:
        return None
    return sequence, sent_ns


def send(address: str, port: int, count: int, interval_us: int, size: int, tag: int) -> int:
    """Send ``count`` datagrams on a fixed schedule (late ones go at once, never skipped)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.connect((address, port))
        started = time.monotonic_ns()
        for sequence in range(count):
            due = started + sequence * interval_us * 1000
            wait_ns = due - time.monotonic_ns()
            if wait_ns > 0:
                time.sleep(wait_ns / 1e9)
            # ENOBUFS, or ECONNREFUSED left by an earlier ICMP: the datagram counts as lost.
            with contextlib.suppress(OSError):
                sock.send(encode(tag, sequence, time.monotonic_ns(), size))
    return 0


class _Stop:
    requested = False

    def __call__(self, signum: int, frame: FrameType | None) -> None:
        self.requested = True


def receive(address: str, port: int, count: int, max_seconds: float, out: Path,
            ready: Path | None, tag: int) -> int:
    stop = _Stop()
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    sequences: list[int] = []
    sent: list[int] = []
    received: list[int] = []
    seen: set[int] = set()
    duplicates = 0
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
        sock.bind((address, port))
        sock.settimeout(0.05)
        if ready is not None:
            ready.write_text(str(os.getpid()))
        deadline = time.monotonic() + max_seconds
        while len(seen) < count and not stop.requested and time.monotonic() < deadline:
            try:
                datagram = sock.recv(65536)
            except TimeoutError:
                continue
            arrived = time.monotonic_ns()
            decoded = decode(datagram, tag)
            if decoded is None:
                continue
            sequence, sent_ns = decoded
            if sequence in seen:
                duplicates += 1
                continue
            seen.add(sequence)
            sequences.append(sequence)
            sent.append(sent_ns)
            received.append(arrived)
    result = {"sequence": sequences, "sent_ns": sent, "received_ns": received,
              "duplicates": duplicates}
    temporary = out.with_name(out.name + ".tmp")
    temporary.write_text(json.dumps(result))
    temporary.replace(out)
    return 0


MAX_SLEEP_US = 100_000
MAX_SCHED_COUNT = 10_000


def sched(count: int, sleep_us: int) -> int:
    """Print ``{"sleep_us": U, "oversleep_us": [...]}``: each sleep's lateness."""
    late: list[int] = []
    for _ in range(count):
        started = time.monotonic_ns()
        time.sleep(sleep_us / 1e6)
        late.append(max(0, (time.monotonic_ns() - started) // 1000 - sleep_us))
    print(json.dumps({"sleep_us": sleep_us, "oversleep_us": late}), flush=True)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="vpb-probe")
    sub = parser.add_subparsers(dest="role", required=True)
    latency = sub.add_parser("sched")
    latency.add_argument("--count", type=int, required=True)
    latency.add_argument("--sleep-us", type=int, default=1000)
    sender = sub.add_parser("send")
    sender.add_argument("--to", required=True)
    receiver = sub.add_parser("receive")
    receiver.add_argument("--bind", required=True)
    receiver.add_argument("--max-seconds", type=float, required=True)
    receiver.add_argument("--out", type=Path, required=True)
    receiver.add_argument("--ready", type=Path)
    for role in (sender, receiver):
        role.add_argument("--port", type=int, required=True)
        role.add_argument("--count", type=int, required=True)
        role.add_argument("--tag", type=int, default=0)
    sender.add_argument("--interval-us", type=int, required=True)
    sender.add_argument("--size", type=int, default=64)
    args = parser.parse_args(argv)
    if args.role == "sched":
        if not 1 <= args.count <= MAX_SCHED_COUNT or not 1 <= args.sleep_us <= MAX_SLEEP_US:
            parser.error(f"--count must be 1..{MAX_SCHED_COUNT} and --sleep-us "
                         f"1..{MAX_SLEEP_US}")
        return sched(args.count, args.sleep_us)
    if not 1 <= args.count <= MAX_COUNT:
        parser.error(f"--count must be 1..{MAX_COUNT}")
    if args.role == "send":
        if args.interval_us < 0 or not MIN_SIZE <= args.size <= 1472:
            parser.error(f"--interval-us >= 0 and --size {MIN_SIZE}..1472 required")
        return send(args.to, args.port, args.count, args.interval_us, args.size, args.tag)
    if not 0 < args.max_seconds <= MAX_SECONDS:
        parser.error(f"--max-seconds must be in (0, {MAX_SECONDS:g}]")
    return receive(args.bind, args.port, args.count, args.max_seconds, args.out, args.ready,
                   args.tag)


if __name__ == "__main__":
    sys.exit(main())
