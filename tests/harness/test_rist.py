"""The rist workload: parsers on captured real output (ffmpeg progress, ristreceiver's JSON
statistics, the decoding ffmpeg), parameter bounds, and (root) a real stream over the
namespace testbed, bare and through WireGuard, at baseline and under loss."""

from __future__ import annotations

import contextlib
import time
from pathlib import Path

import pytest

from analysis.catalogue import is_known_metric
from harness.hosts.fake import FakeHost, FakeProcess, Reply, Rules
from harness.hosts.local import LocalMachine
from harness.records.models import ResultRecord, Status
from harness.records.store import RunStore
from harness.runner.plan import RunPlan
from harness.runner.run import RunOptions, run_plan
from harness.settings.loader import load_testbed, load_vpns
from harness.settings.models import VpnSettings
from harness.testbed.base import Testbed
from harness.vpns.registry import create_adapter
from harness.workloads.parameters import (
    ParameterError,
    apply_assignments,
    apply_shared,
    default_parameters,
)
from harness.workloads.registry import metrics_as
from harness.workloads.rist import (
    RistError,
    RistMetrics,
    RistParams,
    RistWorkload,
    _decoder_finished,
    count_concealed_frames,
    decoded_frames,
    ip_packet_bytes,
    parse_link_mtu,
    parse_progress,
    parse_rist,
    parse_route,
    payload_for_mtu,
    receiver_command,
    receiver_stats,
    sender_command,
    sent_frames,
)
from tests.integration.helpers import local_factory

FIXTURES = Path(__file__).parents[1] / "fixtures" / "rist"


def _fixture(name: str) -> str:
    return (FIXTURES / name).read_text()


def _parsed(kind: str) -> RistMetrics:
    return parse_rist(_fixture(f"{kind}-sender-progress.txt"),
                      _fixture(f"{kind}-ristreceiver.log"), _fixture(f"{kind}-decoder.txt"))


def test_a_clean_stream_arrives_whole() -> None:
    metrics = _parsed("baseline")
    assert (metrics.frames_sent, metrics.frames_decoded) == (75, 75)
    assert metrics.frames_decoded_pct == metrics.frames_clean_pct == 100.0
    assert metrics.quality_pct == metrics.quality_min_pct == 100.0
    assert (metrics.packets_lost, metrics.packets_recovered, metrics.packets_dropped) == (0, 0, 0)
    assert metrics.packets_received == 675  # = the receiver's own cumulative count
    assert metrics.stream_s == 3.0 and len(metrics.intervals) == 3
    assert metrics.bitrate_bps is not None and 1.5e6 < metrics.bitrate_bps < 3e6
    assert metrics.encoder_speed == 0.986 and not metrics.encoder_below_real_time
    assert metrics.sender_bitrate_kbps == 2277.8


def test_a_lossy_stream_shows_retransmissions_and_what_the_decoder_lost() -> None:
    """Captured under the `medium` profile: librist recovered 12 packets, 17 were dropped
    (buffer full) in the first second, so the first keyframe never decoded and the frames up
    to the next one are missing at the receiver."""
    metrics = _parsed("medium")
    assert metrics.packets_recovered == 12
    assert metrics.retransmit_requests == 29
    assert metrics.packets_dropped == 17
    assert metrics.packets_received == 1092
    # the flow's teardown reports lost=64443 (sequence wrap) in an idle interval: ignored
    assert metrics.packets_lost == 0
    assert (metrics.frames_sent, metrics.frames_decoded) == (125, 75)
    assert metrics.frames_decoded_pct == 60.0
    assert metrics.quality_pct is not None and 98.0 < metrics.quality_pct < 100.0
    assert metrics.quality_min_pct == 98.61


def test_wrapped_loss_counters_are_bounded_by_what_went_missing() -> None:
    """Captured over Hyprspace under `high`: librist reported lost=131073 in an interval that
    missed one packet (recovered) and lost=131071 in the last one, which missed 16 and
    recovered none; at most those 16 can be lost."""
    metrics = _parsed("wrapped-lost")
    assert [i.lost for i in metrics.intervals] == [0, 0, 0, 16]
    assert metrics.packets_lost == 16
    assert metrics.packets_recovered == 15
    assert (metrics.frames_sent, metrics.frames_decoded) == (75, 75)


def test_receiver_stats_are_read_from_the_json_log_lines_only() -> None:
    instants = receiver_stats(_fixture("medium-ristreceiver.log"))
    assert len(instants) == 9  # one per second, idle ones included
    assert receiver_stats("1796194320.63|0.0|[INFO] Starting ristreceiver\n"
                          '1.0|0.0|[INFO] {"receiver-stats":{"flowinstant":{"flow_id":1,\n') == []


def test_a_decoder_stopped_by_signal_is_counted_from_its_final_report() -> None:
    text = _fixture("interrupted-decoder.txt")
    assert "progress=end" not in text
    assert decoded_frames(text) == 72
    assert decoded_frames("") == 0


def test_the_sender_s_frame_count_ends_the_wait_for_the_decoder() -> None:
    """The decoder is ended once its progress shows every sent frame (75 here), instead of
    waiting out its idle timeout; a sender without progress gives 0, which never ends it."""
    assert sent_frames(_fixture("baseline-sender-progress.txt")) == 75
    assert sent_frames("rist://10.77.0.2:8200: Connection refused\n") == 0
    assert decoded_frames(_fixture("baseline-decoder.txt")) >= 75


def test_the_decoder_is_ended_once_it_reports_every_sent_frame() -> None:
    """Every sent frame decoded: stop waiting at once (the caller ends the decoder); a
    decoder that exits by itself is done; one short of the count waits out the bound."""
    host = FakeHost("yuki", Rules())
    decoder = host.start(["ffmpeg"], name="rist-decoder")
    decoder.write("frame=49\nprogress=continue\n")
    started = time.monotonic()
    assert _decoder_finished(decoder, 50, timeout_s=0.3) is False
    assert time.monotonic() - started >= 0.3  # 49 of 50: it waited for the rest
    decoder.write("frame=50\nprogress=continue\n")
    started = time.monotonic()
    assert _decoder_finished(decoder, 50, timeout_s=600) is False
    assert time.monotonic() - started < 300  # all 50: it did not wait out its bound
    assert _decoder_finished(decoder, 0, timeout_s=0.1) is False  # sender printed nothing
    assert isinstance(decoder, FakeProcess)
    decoder.exit(0)
    assert _decoder_finished(decoder, 50, timeout_s=30) is True


def test_concealed_frames_are_counted_per_log_line() -> None:
    log = ("[h264 @ 0x5] concealing 120 DC, 120 AC, 120 MV errors in P frame\n"
           "[h264 @ 0x5] error while decoding MB 3 7, bytestream -5\n"
           "[h264 @ 0x5] concealing 8 DC, 8 AC, 8 MV errors in I frame\n")
    assert count_concealed_frames(log) == 2
    metrics = parse_rist(_fixture("baseline-sender-progress.txt"),
                         _fixture("baseline-ristreceiver.log"),
                         _fixture("baseline-decoder.txt") + log)
    assert metrics.frames_concealed == 2
    assert metrics.frames_clean_pct == pytest.approx(100 * 73 / 75)


def test_a_slow_encoder_is_flagged() -> None:
    sender = _fixture("baseline-sender-progress.txt").replace("speed=0.986x", "speed=0.71x")
    metrics = parse_rist(sender, _fixture("baseline-ristreceiver.log"),
                         _fixture("baseline-decoder.txt"))
    assert metrics.encoder_speed == 0.71 and metrics.encoder_below_real_time
    assert "below real time" in RistWorkload().summary(metrics)


def test_a_sender_without_progress_is_an_error() -> None:
    with pytest.raises(RistError, match="no progress report"):
        parse_progress("rist://10.77.0.2:8200: Connection refused\n")
    with pytest.raises(RistError):
        parse_rist("", _fixture("baseline-ristreceiver.log"), "")


def test_analysis_values_use_catalogued_names_and_per_second_rates() -> None:
    values = RistWorkload().analysis_values(_parsed("medium"))
    assert all(is_known_metric(name) for name in values), values
    assert values["rist.packets_recovered"] == pytest.approx(12 / 5)
    assert values["rist.packets_recovered_total"] == 12
    assert values["rist.frames_decoded_pct"] == 60.0
    assert values["rist.encoder_speed"] == 0.991


@pytest.mark.parametrize("assignment", [
    "rist.port=8201", "rist.port=80", "rist.width_px=641", "rist.fps=0",
    "rist.bitrate_kbps=10", "rist.profile=advanced", "rist.preset=placebo",
    "rist.buffer_ms=40000", "rist.idle_timeout_s=0", "rist.packet_bytes=1000",
    "rist.packet_bytes=1504",
])
def test_out_of_range_parameters_are_refused(assignment: str) -> None:
    with pytest.raises(ParameterError, match=assignment.split("=")[0].split(".")[1]):
        apply_assignments(default_parameters(["rist"]), [assignment])


def test_parameters_reach_the_sender_command() -> None:
    params = RistParams(width_px=320, height_px=180, fps=10, bitrate_kbps=500,
                        profile="simple", port=9000)
    command = sender_command("fd00::2", params)
    assert "testsrc2=size=320x180:rate=10" in command
    assert command[command.index("-b:v") + 1] == "500k"
    assert command[command.index("-rist_profile") + 1] == "simple"
    assert command[-1] == "rist://[fd00::2]:9000"


def test_the_route_and_its_device_give_the_path_mtu() -> None:
    """Captured ``ip -j route get`` / ``ip -j link show`` in a namespace whose tunnel-like
    device has MTU 1280 (IPv4, IPv6, and a route with its own ``mtu lock 1200``)."""
    assert parse_route(_fixture("route-get-ipv4.json")) == ("ygg0", None)
    assert parse_route(_fixture("route-get-ipv6.json")) == ("ygg0", None)
    assert parse_route(_fixture("route-get-mtu-lock.json")) == ("ygg0", 1200)
    assert parse_route('[{"dev":"wg0","metrics":[{"mtu":["lock",1380]}]}]') == ("wg0", 1380)
    assert parse_link_mtu(_fixture("link-show-1280.json")) == 1280
    with pytest.raises(RistError, match="no route"):
        parse_route("RTNETLINK answers: Network is unreachable\n")
    with pytest.raises(RistError, match="no MTU"):
        parse_link_mtu("[]")


@pytest.mark.parametrize(("mtu", "ip_version", "profile", "payload"), [
    (1500, 4, "main", 1316),   # internal: 7 TS packets, 1364-byte IP packets
    (1400, 6, "main", 1316),   # mycelium: 1384 bytes still fit
    (65535, 6, "main", 1316),  # yggdrasil's default tunnel: never more than 7
    (1280, 6, "main", 1128),   # the IPv6 minimum MTU: 6 TS packets (1196 bytes)
    (1280, 4, "main", 1128),
    (1300, 4, "main", 1128),   # nebula's default: 1316 would need 1364
    (1384, 6, "main", 1316),   # exactly fits
    (1383, 6, "main", 1128),
    (1376, 6, "simple", 1316),  # the simple profile has no GRE header
    (255, 6, "main", 0),       # not even one TS packet (256 bytes needed)
])
def test_the_payload_is_the_most_ts_packets_the_path_mtu_carries(
        mtu: int, ip_version: int, profile: str, payload: int) -> None:
    assert payload_for_mtu(mtu, ip_version, profile) == payload
    if payload:
        assert ip_packet_bytes(payload, ip_version, profile) <= mtu
        assert payload == 1316 or ip_packet_bytes(payload + 188, ip_version, profile) > mtu


def test_the_path_mtu_is_the_route_s_own_or_its_device_s() -> None:
    """The commands' captured output through a fake host: a locked route MTU wins, without
    one the device's MTU counts, and no route is an error naming the kernel's answer."""
    rules = (Rules()
             .on("ip", "-j", "route", "get", "10.8.0.5",
                 reply=Reply(stdout=_fixture("route-get-mtu-lock.json")))
             .on("ip", "-j", "route", "get", "204:30ee:1f30:49df:c977:b2e:be63:b91e",
                 reply=Reply(stdout=_fixture("route-get-ipv6.json")))
             .on("ip", "-j", "route", "get", "192.168.77.1",
                 reply=Reply(returncode=2, stderr="RTNETLINK answers: Network is unreachable\n"))
             .on("ip", "-j", "link", "show", "dev", "ygg0",
                 reply=Reply(stdout=_fixture("link-show-1280.json"))))
    host = FakeHost("lom", rules)
    assert RistWorkload.path_mtu(host, "10.8.0.5") == 1200
    assert RistWorkload.path_mtu(host, "204:30ee:1f30:49df:c977:b2e:be63:b91e") == 1280
    with pytest.raises(RistError, match="Network is unreachable"):
        RistWorkload.path_mtu(host, "192.168.77.1")


def test_the_receiver_listens_on_the_overlay_family_and_the_sender_uses_the_payload() -> None:
    params = RistParams(port=9000)
    assert "rist://@[::]:9000" in receiver_command(params, 6)
    assert "rist://@0.0.0.0:9000" in receiver_command(params, 4)
    command = sender_command("fd00::2", params, 1128)
    assert command[command.index("-pkt_size") + 1] == "1128"
    assert command[-1] == "rist://[fd00::2]:9000"


def test_a_stream_that_never_reached_the_receiver_says_so_with_its_path() -> None:
    """Captured over yggdrasil before the fix: ristreceiver listened on 0.0.0.0 only, the
    IPv6 datagrams never reached it and the decoder found no stream."""
    metrics = parse_rist(_fixture("ipv4-listener-sender-progress.txt"),
                         _fixture("ipv4-listener-ristreceiver.log"),
                         _fixture("ipv4-listener-decoder.txt"))
    assert (metrics.frames_sent, metrics.frames_decoded, metrics.packets_received) == (75, 0, 0)
    metrics = metrics.model_copy(update={"path_mtu_bytes": 1280, "ip_version": 6,
                                         "payload_bytes": 1128})
    problem = RistWorkload.problem(metrics, timed_out=False)
    assert problem == ("no RIST data packet reached the receiver: the overlay did not carry "
                       "the stream (IPv6, path MTU 1280, 1128-byte payload in 1196-byte "
                       "packets)")
    arrived = _parsed("baseline").model_copy(update={"frames_decoded": 0})
    assert RistWorkload.problem(arrived, timed_out=False) == (
        "the receiver got 675 RIST packets (0 dropped, 0 lost) but decoded no frames")
    assert RistWorkload.problem(_parsed("baseline"), timed_out=False) is None


def test_a_host_without_the_tools_says_why() -> None:
    workload = RistWorkload()
    assert workload.unavailable_reason(FakeHost("lom", programs={"ffmpeg"})) == (
        "ristreceiver, ss not found on lom")
    assert workload.unavailable_reason(FakeHost("lom")) is None


# -- real runs (root) ---------------------------------------------------------------------

def _run(tmp_path: Path, vpns: list[str], profile: str,
         settings: dict[str, VpnSettings] | None = None,
         assignments: tuple[str, ...] = ()) -> list[ResultRecord]:
    params = apply_shared(default_parameters(["rist"]), {"duration": 3},
                          lambda key, value: f"test {key}={value}")
    params = apply_assignments(params, list(assignments))
    plan = RunPlan(hosts=load_testbed().hosts, vpns=vpns, profiles=[profile], tests=["rist"],
                   parameters=params)

    def factory() -> contextlib.AbstractContextManager[Testbed]:
        return local_factory()

    run_dir = run_plan(plan, settings or load_vpns(), factory,
                       RunOptions(out_dir=tmp_path, live_progress=False))
    return RunStore.open_existing(run_dir).load_records()


def _require_tools() -> None:
    reason = RistWorkload().unavailable_reason(LocalMachine())
    if reason:
        pytest.skip(f"rist not runnable here: {reason}")


@pytest.mark.root
@pytest.mark.slow
def test_a_short_stream_over_internal_and_wireguard(tmp_path: Path) -> None:
    _require_tools()
    vpns = ["internal"]
    if not create_adapter(load_vpns()["wireguard"]).unavailable_reason(LocalMachine()):
        vpns.append("wireguard")
    records = _run(tmp_path, vpns, "baseline")
    assert {r.vpn for r in records} == set(vpns) and len(records) == 3 * len(vpns)
    assert all(r.status is Status.OK for r in records), [(r.vpn, r.link, r.error)
                                                         for r in records]
    for record in records:
        metrics = metrics_as(record, RistMetrics)
        assert metrics is not None
        assert 0 < metrics.frames_decoded <= metrics.frames_sent
        assert metrics.quality_pct is not None and 0 <= metrics.quality_pct <= 100
        assert 0 <= metrics.frames_decoded_pct <= 100
        assert metrics.packets_received > 0 and metrics.encoder_speed is not None
        # IPv4 with a 1500 (internal) or 1420 (wireguard) MTU: the full 7 TS packets fit
        assert (metrics.ip_version, metrics.payload_bytes) == (4, 1316)


@pytest.mark.root
@pytest.mark.slow
def test_a_stream_under_loss_reports_librist_packet_figures(tmp_path: Path) -> None:
    _require_tools()
    records = _run(tmp_path, ["internal"], "medium")
    measured = [m for m in (metrics_as(r, RistMetrics) for r in records) if m is not None]
    assert measured, [(r.link, r.error) for r in records]
    for metrics in measured:
        assert metrics.packets_received > 0
        assert metrics.packets_recovered >= 0 and metrics.packets_lost >= 0
        assert metrics.quality_pct is not None and 0 <= metrics.quality_pct <= 100
    # the profile drops packets, so librist must have asked for some again
    assert sum(m.retransmit_requests for m in measured) > 0


@pytest.mark.root
@pytest.mark.slow
def test_a_short_stream_over_yggdrasil_ipv6_at_mtu_1280(tmp_path: Path) -> None:
    """Regression: over an IPv6 overlay the receiver listened on 0.0.0.0 and decoded nothing.
    Yggdrasil with its tunnel at the IPv6 minimum MTU 1280: every link streams, over IPv6,
    in packets of 6 TS packets that fit the path unfragmented."""
    _require_tools()
    settings = load_vpns()
    if create_adapter(settings["yggdrasil"]).unavailable_reason(LocalMachine()):
        pytest.skip("yggdrasil not runnable here")
    settings["yggdrasil"] = settings["yggdrasil"].model_copy(update={"mtu": 1280})
    records = _run(tmp_path, ["yggdrasil"], "baseline", settings)
    assert len(records) == 3
    assert all(r.status is Status.OK for r in records), [(r.link, r.error) for r in records]
    for record in records:
        metrics = metrics_as(record, RistMetrics)
        assert metrics is not None
        assert (metrics.ip_version, metrics.path_mtu_bytes, metrics.payload_bytes) == (
            6, 1280, 1128)
        assert 0 < metrics.frames_decoded <= metrics.frames_sent
        assert metrics.packets_received > 0
