"""The quiet-path rule and wait (pure parts; the real-namespace test is in
tests/integration/test_quiet_path.py)."""

from __future__ import annotations

from harness.hosts.fake import FakeHost, Reply, Rules
from harness.runner.quiet import IdleRtt, QuietSettings, settled, silent, summarise, wait_quiet


def test_idle_rtt_is_median_and_spread() -> None:
    idle = summarise([0.5, 0.1, 0.2, 0.3, 0.4, 0.2, 0.3, 0.2, 0.3, 0.9])
    assert idle is not None
    assert idle.median_ms == 0.3 and round(idle.spread_ms, 6) == 0.4  # p90 0.5 - p10 0.1
    assert summarise([]) is None


def test_settled_within_ratio_slack_and_spread() -> None:
    idle = IdleRtt(median_ms=1.0, spread_ms=0.1)
    assert settled(1.8, idle)  # 1.0 x 1.5 + 0.2 + 0.1
    assert not settled(1.81, idle)
    assert settled(1.0, idle, QuietSettings(ratio=1.0, slack_ms=0.0))


def test_the_wait_is_bounded_in_probes_and_time() -> None:
    """A tunnel that never settles: the wait stops at the probe budget, or earlier at the
    time budget, and says it did not converge."""
    slow = "".join(f"64 bytes from x: icmp_seq={i} ttl=64 time=9.0 ms\n" for i in range(1, 6))
    slow += "--- x ping statistics ---\n5 packets transmitted, 5 received, 0% packet loss\n"
    host = FakeHost("lom", Rules().on("ping", reply=Reply(stdout=slow)))
    now = [0.0]

    def sleep(seconds: float) -> None:
        now[0] += seconds

    idle = IdleRtt(median_ms=0.1, spread_ms=0.0)
    quiet = wait_quiet(host, "10.0.0.2", idle, QuietSettings(max_probes=4, max_wait_s=100),
                       sleep=sleep, clock=lambda: now[0])
    assert (quiet.probes, quiet.converged, quiet.last_rtt_ms) == (4, False, 9.0)
    assert quiet.wait_s == 0.9  # three pauses
    now[0] = 0.0
    quiet = wait_quiet(host, "10.0.0.2", idle, QuietSettings(max_probes=50, max_wait_s=1.0),
                       sleep=sleep, clock=lambda: now[0])
    assert (quiet.probes, quiet.converged) == (4, False) and quiet.wait_s <= 1.0


def test_half_the_echoes_must_come_back() -> None:
    lossy = ("64 bytes from x: icmp_seq=1 ttl=64 time=0.1 ms\n--- x ping statistics ---\n"
             "5 packets transmitted, 1 received, 80% packet loss\n")
    host = FakeHost("lom", Rules().on("ping", reply=Reply(stdout=lossy)))
    quiet = wait_quiet(host, "10.0.0.2", IdleRtt(0.1, 0.0), QuietSettings(max_probes=2),
                       sleep=lambda s: None)
    assert (quiet.probes, quiet.converged, quiet.last_rtt_ms) == (2, False, 0.1)


def test_no_idle_rtt_means_no_wait() -> None:
    host = FakeHost("lom", Rules())
    quiet = wait_quiet(host, "10.0.0.2", None)
    assert (quiet.probes, quiet.converged, quiet.idle_rtt_ms) == (0, False, None)
    assert host.calls == []


def test_a_silent_tunnel_stops_the_wait_early() -> None:
    """No echo in three probes in a row: the tunnel is down, not slow; the wait stops there
    instead of spending its whole budget, and says so (no last RTT)."""
    lost = "--- x ping statistics ---\n5 packets transmitted, 0 received, 100% packet loss\n"
    host = FakeHost("lom", Rules().on("ping", reply=Reply(stdout=lost)))
    quiet = wait_quiet(host, "10.0.0.2", IdleRtt(0.1, 0.0), sleep=lambda s: None)
    assert (quiet.probes, quiet.converged, quiet.last_rtt_ms) == (3, False, None)
    assert silent(quiet)
    assert len(host.calls) == 3
    assert not silent(wait_quiet(host, "10.0.0.2", None))  # no wait: nothing known


def test_a_wait_ending_on_its_budget_with_one_lost_probe_is_not_silent() -> None:
    """Slow echoes, then one probe without any: the budget ran out, the tunnel was slow but
    answering, so a failing test after it is still retried."""
    slow = "".join(f"64 bytes from x: icmp_seq={i} ttl=64 time=9.0 ms\n" for i in range(1, 6))
    slow += "--- x ping statistics ---\n5 packets transmitted, 5 received, 0% packet loss\n"
    lost = "--- x ping statistics ---\n5 packets transmitted, 0 received, 100% packet loss\n"
    host = FakeHost("lom", Rules().on("ping", reply=Reply(stdout=lost))
                    .on("ping", times=2, reply=Reply(stdout=slow)))  # the later rule first
    quiet = wait_quiet(host, "10.0.0.2", IdleRtt(0.1, 0.0), QuietSettings(max_probes=3),
                       sleep=lambda s: None)
    assert (quiet.probes, quiet.converged, quiet.last_rtt_ms) == (3, False, None)
    assert not silent(quiet)
