"""The legacy per-file extractors on small hand-made documents."""

from __future__ import annotations

import pytest

from analysis.importers import legacy_files as files


def test_failure_reason_prefers_the_tools_message_and_never_the_command() -> None:
    envelope = {
        "status": "error",
        "error_type": "CmdOut",
        "error": {
            "stdout": '{"start": {}, "error": "unable to read from stream socket"}',
            "stderr": "Warning: Permanently added '10.0.0.1' (ED25519) to the list of hosts.\n",
            "command_list": "['ssh', 'root@x', 'export IPERF3_PASSWORD=secret; iperf']",
            "returncode": 1,
        },
    }
    reason = files.failure_reason(envelope)
    assert reason == "CmdOut: iperf3: unable to read from stream socket"


def test_failure_reason_for_timeouts_and_crashes() -> None:
    timeout = {"status": "error", "error_type": "CmdOut",
               "error": {"msg": "Command timed out after 700 seconds", "returncode": -1}}
    crash = {"status": "error", "error_type": "ClanError",
             "error": {"msg": "Unexpected general Exception occured",
                       "description": "list index out of range"}}
    assert files.failure_reason(timeout) == "CmdOut: Command timed out after 700 seconds"
    assert files.failure_reason(crash) == "ClanError: list index out of range"
    assert files.failure_reason({"status": "success", "data": {}}) is None
    assert files.failure_reason({"data": {}}) == "not a result envelope (no status field)"
    assert files.failure_reason([1, 2]) == "not a result envelope (no status field)"


def test_parallel_pair_error_text() -> None:
    text = "== Command ==\nssh root@x IPERF3_PASSWORD=secret\n== Stdout ==\n\nReturn Code: -1\n" \
           "\nError Msg:  Command timed out after 250 seconds"
    reason = files.text_failure_reason("ClanCmdTimeoutError", text)
    assert reason == "ClanCmdTimeoutError: Command timed out after 250 seconds"
    assert "PASSWORD" not in reason


def test_tcp_values_use_forward_direction_and_forward_sender_streams() -> None:
    iperf = {
        "start": {"tcp_mss_default": 1000},
        "end": {
            "sum_sent": {"bits_per_second": 8e8, "retransmits": 5, "bytes": 2_000_000},
            "sum_received": {"bits_per_second": 7.9e8},
            "sum_sent_bidir_reverse": {"bits_per_second": 6e8},
            "streams": [
                {"sender": {"sender": True, "max_snd_cwnd": 4000}},
                {"sender": {"sender": False, "max_snd_cwnd": 99_999}},
                {"sender": {"sender": True, "max_snd_cwnd": 6000}},
            ],
        },
    }
    values = files.tcp_values(iperf)
    assert values["tcp.throughput_mbps"] == pytest.approx(800)
    assert values["tcp.throughput_receiver_mbps"] == pytest.approx(790)
    assert values["tcp.reverse_throughput_mbps"] == pytest.approx(600)
    assert values["tcp.retransmit_rate_pct"] == pytest.approx(100 * 5 / 2000)
    assert values["tcp.max_cwnd_bytes"] == 6000


def test_tcp_values_tolerate_missing_fields() -> None:
    values = files.tcp_values({"end": {}})
    assert all(v is None for v in values.values())
    assert files.retransmit_rate_pct(3, 1000, 0) is None


def test_ping_and_nix_cache_values() -> None:
    stats = {"min": 1.0, "average": 2.0, "max": 3.0}
    summary = {"rtt_avg_ms": stats, "rtt_mdev_ms": {"average": 0.5},
               "packet_loss_percent": {"average": 1.0}}
    values = files.ping_values(summary)
    assert values["ping.rtt_avg_ms"] == 2.0
    assert values["ping.jitter_ms"] == 0.5
    assert values["ping.rtt_min_ms"] is None
    hyperfine = {"results": [{"mean": 99.0, "times": [9.0, 11.0]}]}
    assert files.nix_cache_values(hyperfine) == {"nix_cache.time_s": 10.0}


def test_durations_and_first_successful_peer() -> None:
    assert files.parse_duration("0:00:09.068577") == pytest.approx(9.068577)
    assert files.parse_duration("1 day, 1:00:00") == 90000
    assert files.parse_duration("soon") is None
    timings = {"vpn_results": {
        "vpn.luna": {"status": "error", "time_took": "0:00:01"},
        "vpn.yuki": {"status": "success", "time_took": "0:00:13.5"},
        "vpn.lom": {"status": "success", "time_took": "0:00:02"},
    }}
    assert files.first_vpn_success_seconds(timings) == pytest.approx(13.5)


def test_restart_seconds_ignores_vpns_that_were_never_restarted() -> None:
    assert files.restart_seconds({"vpn_restart_duration_seconds": 0.0,
                                  "connectivity_wait_duration_seconds": 0.0}) is None
    assert files.restart_seconds({"vpn_restart_duration_seconds": 2.0,
                                  "connectivity_wait_duration_seconds": 3.5}) == 5.5
    assert files.restart_seconds({}) is None
