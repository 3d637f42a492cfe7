"""Throughput through the userspace impairment link, against the plain bridge and a model.

(a) single-stream TCP (iperf3) over the plain bridge, then through vpb-linkemu with the
    engine on but zero impairment (target: >= 900 Mbit/s on this 2-core machine);
(b) under each profile: TCP throughput through the userspace link, next to the Mathis et
    al. estimate MSS/RTT · sqrt(3/2)/sqrt(p) with RTT = the model's added round trip
    (2 · E[max(0, U(d-j, d+j))]), once with p = the loss the switch realised on the data
    direction, once with p = iperf3's retransmission rate (which also counts segments
    resent because jitter reordered them: the loss TCP actually reacted to).

Builds its own 2-host namespace testbed through the harness (prefix vpb-, removed at exit).
Run as root:  .venv/bin/python benchmarks/impairment_fidelity.py [--seconds 10]
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from dataclasses import dataclass
from typing import Any

from harness.hosts.base import Host
from harness.impairment.profiles import BUILTIN_PROFILES
from harness.impairment.tuning import TCP_TUNINGS, apply_tcp_tuning
from harness.impairment.userspace import UserspaceEngine
from harness.netem.model import Impairment, Profile
from harness.settings.loader import load_testbed
from harness.testbed.local.testbed import LocalTestbed, LocalTestbedSpec

PORT = 5299
MSS_BYTES = 1448
MATHIS_C = math.sqrt(3 / 2)


@dataclass(frozen=True)
class TcpResult:
    mbps: float
    retransmits: int
    segments: float
    mean_rtt_ms: float | None


def iperf3(testbed: LocalTestbed, seconds: int) -> TcpResult:
    """lom -> yuki, one stream, receiver-side throughput."""
    server_host, client_host = testbed.host("yuki"), testbed.host("lom")
    address = testbed.lan_address("yuki")
    server = server_host.start(["iperf3", "-s", "-1", "-B", address, "-p", str(PORT)],
                               name=f"iperf3-server-{time.monotonic_ns()}")
    try:
        _wait_listening(server_host)
        result = client_host.run(["iperf3", "-c", address, "-p", str(PORT), "-t",
                                  str(seconds), "-J"], timeout=seconds + 60)
        report: dict[str, Any] = json.loads(result.stdout)
        if "error" in report:
            raise RuntimeError(f"iperf3: {report['error']}")
    finally:
        server.stop(timeout=5)
    end = report["end"]
    sender = end["streams"][0]["sender"]
    rtt_us = sender.get("mean_rtt")
    return TcpResult(
        mbps=float(end["sum_received"]["bits_per_second"]) / 1e6,
        retransmits=int(end["sum_sent"].get("retransmits", 0)),
        segments=float(end["sum_sent"]["bytes"]) / MSS_BYTES,
        mean_rtt_ms=float(rtt_us) / 1000 if rtt_us else None)


def _wait_listening(host: Host) -> None:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        listed = host.run(["ss", "-Hltn", f"sport = :{PORT}"], timeout=5)
        if listed.stdout.strip():
            return
        time.sleep(0.05)
    raise RuntimeError("iperf3 server did not start listening")


def mathis_mbps(rtt_ms: float | None, loss: float) -> float | None:
    if not rtt_ms or loss <= 0:
        return None
    return MSS_BYTES * 8 / (rtt_ms / 1000) * MATHIS_C / math.sqrt(loss) / 1e6


def realised_loss(stats: dict[str, Any] | None, port: str) -> float | None:
    """Share of the data direction's frames the switch dropped by the loss model."""
    if not stats:
        return None
    for entry in stats.get("ports", []):
        if entry["interface"] == port and entry["frames_received"]:
            return float(entry["dropped_loss"]) / float(entry["frames_received"])
    return None


def _fmt(value: float | None, unit: str = "") -> str:
    return "-" if value is None else f"{value:8.1f}{unit}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=10, help="iperf3 duration per run")
    parser.add_argument("--profiles", default="low,medium,high",
                        help="comma list of low, medium, high")
    parser.add_argument("--tcp-tuning", default="none", help=", ".join(TCP_TUNINGS))
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args()
    wanted = [name for name in args.profiles.split(",") if name]
    unknown = [name for name in wanted if name not in ("low", "medium", "high")]
    if unknown or not 1 <= args.seconds <= 120 or args.tcp_tuning not in TCP_TUNINGS:
        print(f"bad arguments: profiles from low, medium, high (got {unknown or wanted}); "
              f"--seconds 1..120; --tcp-tuning one of {', '.join(TCP_TUNINGS)}",
              file=sys.stderr)
        return 2
    settings = load_testbed()
    with LocalTestbed(LocalTestbedSpec(hosts=settings.hosts[:2], lan=settings.lan)) as testbed:
        tuning = apply_tcp_tuning(testbed, args.tcp_tuning)
        print(f"TCP tuning: {args.tcp_tuning} {tuning.get('lom', '')}")
        bridge = iperf3(testbed, args.seconds)
        print(f"(a) plain bridge            TCP {bridge.mbps:8.1f} Mbit/s")
        zero = Profile(name="zero", egress=Impairment())
        with UserspaceEngine() as engine:
            engine.apply(testbed, zero, seed=args.seed)
            through = iperf3(testbed, args.seconds)
        verdict = "meets" if through.mbps >= 900 else "BELOW"
        print(f"(a) userspace link, zero    TCP {through.mbps:8.1f} Mbit/s "
              f"({through.mbps / bridge.mbps:.0%} of the bridge; {verdict} the 900 target)")
        print("(b) profile   measured Mbit/s  retrans/seg  iperf3 RTT ms  realised loss  "
              "model RTT ms  Mathis(loss) Mbit/s  Mathis(retrans) Mbit/s")
        for name in wanted:
            profile = BUILTIN_PROFILES[name]
            with UserspaceEngine() as engine:
                engine.apply(testbed, profile, seed=args.seed)
                result = iperf3(testbed, args.seconds)
                record = engine.remove()
            loss = realised_loss(record.switch_stats_after if record else None,
                                 testbed.lan_port("lom"))
            model_rtt = record.round_trip.added_rtt_mean_ms if record and record.round_trip \
                else None
            retrans = result.retransmits / result.segments if result.segments else 0.0
            print(f"    {name:8s} {result.mbps:14.1f}  {retrans:11.4f}  "
                  f"{_fmt(result.mean_rtt_ms)}     "
                  f"{'-' if loss is None else f'{loss:.4%}':>10}  "
                  f"{_fmt(model_rtt)}  "
                  f"{_fmt(mathis_mbps(model_rtt, loss or 0.0)):>18}  "
                  f"{_fmt(mathis_mbps(model_rtt, retrans)):>21}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
