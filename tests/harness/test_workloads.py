"""The workload seam: what every registered workload must provide, checked for all of them."""

from __future__ import annotations

import re
from typing import Any

import pytest

from analysis.catalogue import is_known_metric
from harness.records.models import ResultRecord, Status
from harness.workloads.base import Workload
from harness.workloads.parameters import shared_parameters, valid_range
from harness.workloads.ping import PingParams, parse_ping
from harness.workloads.registry import TEST_NAMES, WORKLOADS, metrics_as, metrics_of
from harness.workloads.tcp import TcpMetrics, TcpParams
from harness.workloads.udp import UdpMetrics

ALL = [pytest.param(workload, id=name) for name, workload in WORKLOADS.items()]


@pytest.mark.parametrize("workload", ALL)
def test_every_workload_names_itself_and_documents_bounded_parameters(
        workload: Workload[Any, Any]) -> None:
    assert re.fullmatch(r"[a-z][a-z0-9_]*", workload.name)
    defaults = workload.params_model()
    assert workload.nominal_duration_s(defaults, 3) > 0
    for field, info in workload.params_model.model_fields.items():
        assert info.description, f"{workload.name}.{field} needs a description (with unit)"
        if info.annotation in (int, float):
            assert " from " in valid_range(info) and " to " in valid_range(info), (
                f"{workload.name}.{field} needs lower and upper bounds")


def test_a_shared_flag_means_the_same_in_every_workload() -> None:
    shared = shared_parameters()
    assert set(shared) == {"duration", "ping_count", "ping_interval"}
    assert shared["duration"].targets == (("parallel_tcp", "duration_s"), ("tcp", "duration_s"),
                                          ("udp", "duration_s"), ("quic", "duration_s"),
                                          ("rist", "duration_s"))
    for parameter in shared.values():
        infos = [WORKLOADS[test].params_model.model_fields[field]
                 for test, field in parameter.targets]
        assert len({(i.annotation, i.default, valid_range(i)) for i in infos}) == 1


def test_run_order_is_the_registry_order() -> None:
    assert TEST_NAMES == ("parallel_tcp", "tcp", "udp", "ping", "quic", "nix_cache",
                           "rist", "reconnect")


def _record(test: str, metrics: dict[str, object]) -> ResultRecord:
    return ResultRecord.model_validate({
        "run_id": "r", "vpn": "internal", "profile": "baseline", "test": test,
        "source": "lom", "target": "yuki", "started_at": "2026-01-01T00:00:00Z",
        "ended_at": "2026-01-01T00:00:01Z", "status": Status.OK, "metrics": metrics,
        "parameters": WORKLOADS[test].params_model().model_dump(mode="json")})


def test_records_read_back_as_their_workloads_typed_models() -> None:
    ping = parse_ping("1 packets transmitted, 1 received, 0% packet loss, time 0ms\n"
                      "rtt min/avg/max/mdev = 0.5/0.5/0.5/0.0 ms\n", interval_s=0.2)
    record = _record("ping", ping.model_dump(mode="json"))
    assert metrics_of(record) == ping
    assert metrics_as(record, TcpMetrics) is None
    values = WORKLOADS["ping"].analysis_values(ping)
    assert values["ping.rtt_avg_ms"] == 0.5
    assert all(is_known_metric(name) for name in values)


def test_a_record_with_metrics_of_another_shape_is_refused() -> None:
    record = _record("udp", {"sender_bps": 1.0})
    with pytest.raises(ValueError, match="blksize_bytes"):
        metrics_as(record, UdpMetrics)


def test_the_context_hands_a_workload_only_its_own_parameters() -> None:
    tcp = WORKLOADS["tcp"]
    with pytest.raises(TypeError, match="tcp needs TcpParams, got PingParams"):
        tcp.context(None, {}, PingParams(), timeout_s=1)  # type: ignore[arg-type]
    assert tcp.context(None, {}, TcpParams(), timeout_s=1).params == TcpParams()  # type: ignore[arg-type]


def test_udp_offered_rate_reaches_iperf3_in_bits_per_second() -> None:
    from harness.workloads.udp import UdpParams, UdpWorkload

    assert UdpWorkload().iperf_args(UdpParams(bitrate_mbps=2.5))[:3] == [
        "--udp", "--bitrate", "2500000"]
    assert UdpWorkload().iperf_args(UdpParams())[2] == "0"
