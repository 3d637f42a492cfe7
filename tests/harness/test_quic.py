"""The quic workload: its parser on captured vpb-quic output, its parameter bounds, the MTU
verdict, and a missing tool turning into failed cells (fake backend, no root)."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.hosts.fake import FakeHost, Reply, Rules
from harness.records.models import Status
from harness.records.store import RunStore
from harness.runner.plan import RunPlan
from harness.runner.run import RunOptions, run_plan
from harness.settings.models import AddressingSettings, VpnSettings
from harness.testbed.fake import FakeTestbedFactory
from harness.workloads.parameters import ParameterError, apply_assignments, default_parameters
from harness.workloads.quic import (
    QuicError,
    QuicParams,
    QuicWorkload,
    client_command,
    mtu_problem,
    parse_quic,
)

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "quic"


def fixture(name: str) -> str:
    return (FIXTURES / name).read_text()


def test_every_connection_and_the_bulk_transfer_are_kept() -> None:
    metrics = parse_quic(fixture("veth_ok.json"))
    assert len(metrics.handshake_samples_ms) == 5 == len(metrics.ttfb_samples_ms)
    assert metrics.handshake_samples_ms[0] == pytest.approx(3.16103)
    assert metrics.handshake_median_ms == pytest.approx(3.151137)
    assert metrics.ttfb_max_ms == pytest.approx(4.912855)
    assert all(t >= h for h, t in zip(metrics.handshake_samples_ms, metrics.ttfb_samples_ms,
                                      strict=True))
    assert metrics.bulk_received_bytes == metrics.bulk_sent_bytes == 439752638
    expected = metrics.bulk_received_bytes * 8 / metrics.bulk_receiver_s / 1e6
    assert metrics.throughput_mbps == pytest.approx(expected)
    assert (metrics.path_mtu_bytes, metrics.ip_version, metrics.gso) == (1500, 4, True)
    values = QuicWorkload().analysis_values(metrics)
    assert values["quic.handshake_ms"] == metrics.handshake_median_ms
    assert values["quic.ttfb_ms"] == metrics.ttfb_median_ms
    assert values["quic.throughput_mbps"] == metrics.throughput_mbps


def test_a_path_too_small_for_quic_is_named_with_its_mtu() -> None:
    with pytest.raises(QuicError) as error:
        parse_quic(fixture("mtu_too_small.json"))
    assert str(error.value) == ("path MTU 1220 too small for QUIC's 1200-byte datagrams "
                                "(1192 bytes of UDP payload over IPv4)")


@pytest.mark.parametrize(("mtu", "ip_version", "fits"), [
    (1280, 6, True),   # 1232 bytes of UDP payload: IPv6's minimum MTU carries QUIC
    (1247, 6, False),  # 1199
    (1228, 4, True),   # 1200
    (1227, 4, False),
    (0, 4, True),      # unknown: the handshake decides
])
def test_mtu_verdict(mtu: int, ip_version: int, fits: bool) -> None:
    problem = mtu_problem(mtu, ip_version)
    assert (problem is None) is fits
    if problem:
        assert problem.startswith(f"path MTU {mtu} too small for QUIC's 1200-byte datagrams")


def test_a_handshake_timeout_names_the_path_mtu() -> None:
    with pytest.raises(QuicError, match=r"timeout: no recent network activity \(path MTU 1500\)"):
        parse_quic(fixture("no_server.json"))


@pytest.mark.parametrize("text", ["", "panic: oops", "[]", '{"tool": "other"}',
                                  '{"tool": "vpb-quic", "connections": [], "bulk": null}'])
def test_output_that_is_no_report_is_an_error(text: str) -> None:
    with pytest.raises(QuicError):
        parse_quic(text)


@pytest.mark.parametrize("assignment", ["quic.connections_count=0", "quic.connections_count=101",
                                        "quic.duration_s=0", "quic.port=80",
                                        "quic.handshake_timeout_s=0.1", "quic.rounds=3"])
def test_parameters_out_of_range_are_refused_with_the_valid_range(assignment: str) -> None:
    with pytest.raises(ParameterError, match="quic"):
        apply_assignments(default_parameters(), [assignment])


def test_parameters_reach_the_client() -> None:
    params = apply_assignments(default_parameters(), ["quic.connections_count=3",
                                                      "quic.handshake_timeout_s=2.5"])["quic"]
    assert isinstance(params, QuicParams)
    assert client_command("fd00::2", params) == [
        "vpb-quic", "client", "--server", "fd00::2", "--port", "4433", "--connections", "3",
        "--duration", "30", "--handshake-timeout", "2.5"]


def test_a_missing_tool_is_a_reason_not_a_crash(tmp_path: Path) -> None:
    assert "vpb-quic not found on lom" in (
        QuicWorkload().unavailable_reason(FakeHost("lom", programs={"ping"})) or "")
    assert QuicWorkload().unavailable_reason(FakeHost("lom")) is None
    ping_ok = (FIXTURES.parent / "ping" / "ipv4_ok.txt").read_text()
    rules = (Rules().on("ping", reply=Reply(stdout=ping_ok))
             .on("ip", "-j", "link", "show", reply=Reply(stdout="[]")))
    factory = FakeTestbedFactory(rules, programs={"ip", "ping", "iperf3", "ss"})
    plan = RunPlan(hosts=["lom", "yuki", "luna"], vpns=["internal"], profiles=["baseline"],
                   tests=["quic"], parameters={"quic": QuicParams(duration_s=1)})
    settings = {"internal": VpnSettings(name="internal", display_name="Internal",
                                        addressing=AddressingSettings(mode="underlay"))}
    run_dir = run_plan(plan, settings, factory, RunOptions(out_dir=tmp_path,
                                                           live_progress=False))
    found = RunStore.open_existing(run_dir).load_records()
    assert len(found) == 3
    assert all(r.status is Status.FAILED for r in found)
    assert all((r.error or "").startswith("not runnable here: vpb-quic not found on")
               for r in found)
    assert not any(call.matches("vpb-quic") for call in factory.built[0].log.calls)
