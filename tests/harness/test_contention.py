"""The contention figures: /proc/stat and scheduling-probe parsers, the busy rule, the
probe itself, and the monitor on this machine through the Host interface."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import PurePosixPath

import pytest

from harness.hosts.fake import FakeHost, Reply, Rules
from harness.monitoring.contention import (
    LIGHT_LOAD_THRESHOLDS,
    ContentionMonitor,
    Thresholds,
    judge,
    parse_proc_stat,
    parse_sched_output,
)
from harness.records.models import ContentionSample, HostContention, ResultRecord

#: /proc/stat of this 2-core machine while other engineers were building (captured).
PROC_STAT = """\
cpu  653002 406831 277856 671162 3379 0 58300 5425 0 0
cpu0 311785 205877 137898 349141 643 0 29813 2656 0 0
cpu1 341217 200953 139958 322020 2736 0 28486 2768 0 0
intr 41343377 0 0 0 0 0 0 0
ctxt 98765432
btime 1764660000
processes 13978
procs_running 10
procs_blocked 0
softirq 1 2 3
"""


def test_proc_stat_gives_cores_run_queue_and_steal() -> None:
    stat = parse_proc_stat(PROC_STAT)
    assert (stat.cores, stat.procs_running, stat.steal) == (2, 10, 5425)
    assert stat.total == 653002 + 406831 + 277856 + 671162 + 3379 + 0 + 58300 + 5425


@pytest.mark.parametrize("text", ["", "cpu  1 2 3 4\nprocs_running 1\n",
                                  "cpu0 1 2 3 4\nprocs_running 1\n",
                                  "cpu  1 2 3 4\ncpu0 1 2 3 4\n"])
def test_proc_stat_without_a_needed_line_is_an_error(text: str) -> None:
    with pytest.raises(ValueError, match="procs_running"):
        parse_proc_stat(text)


def test_sched_output_quantiles() -> None:
    late = list(range(1, 101))  # 1..100 us
    latency = parse_sched_output("noise\n" + json.dumps({"sleep_us": 1000,
                                                          "oversleep_us": late}) + "\n")
    assert (latency.count, latency.p50_ms, latency.p95_ms, latency.max_ms) == (
        100, 0.05, 0.095, 0.1)


@pytest.mark.parametrize("text", ["", "usage: vpb-probe [-h] {send,receive} ...",
                                  '{"sleep_us": 1000}', '{"oversleep_us": []}',
                                  '{"oversleep_us": [-5]}'])
def test_sched_output_that_is_not_the_probe_line_is_an_error(text: str) -> None:
    with pytest.raises(ValueError, match="scheduling probe"):
        parse_sched_output(text)


def test_the_probe_prints_one_oversleep_per_sleep() -> None:
    output = subprocess.run([sys.executable, "-m", "harness.impairment.probe", "sched",
                             "--count", "20", "--sleep-us", "500"], capture_output=True,
                            text=True, check=True, timeout=30).stdout
    latency = parse_sched_output(output)
    assert latency.count == 20 and 0 <= latency.p50_ms <= latency.p95_ms <= latency.max_ms


def test_the_probe_refuses_unbounded_requests() -> None:
    result = subprocess.run([sys.executable, "-m", "harness.impairment.probe", "sched",
                             "--count", "0"], capture_output=True, text=True, timeout=30)
    assert result.returncode == 2 and "--count must be 1..10000" in result.stderr


def _host(*samples: ContentionSample, cores: int = 2,
          steal: float | None = 0.0) -> HostContention:
    return HostContention(cores=cores, steal_pct=steal, samples=list(samples))


def _sample(phase: str, run_queue: int, p95: float | None = 0.1) -> ContentionSample:
    return ContentionSample.model_validate({"phase": phase, "t_s": 0.0, "run_queue": run_queue,
                                            "sched_p95_ms": p95})


def test_quiet_hosts_are_not_busy_and_the_reason_gives_the_figures() -> None:
    busy, reason = judge({"lom": _host(_sample("before", 1), _sample("after", 0)),
                          "yuki": _host(_sample("before", 0, 0.3))})
    assert not busy
    assert reason == ("quiet: lom: run queue max 1 of 2 cores, p95 oversleep 0.1 ms, steal 0 %, "
                      "yuki: run queue max 0 of 2 cores, p95 oversleep 0.3 ms, steal 0 %")


def test_a_run_queue_of_a_task_per_core_is_busy() -> None:
    busy, reason = judge({"lom": _host(_sample("before", 0), _sample("after", 2))})
    assert busy and reason == "lom: run queue 2 >= 2 (2 cores) after the test"
    assert not judge({"lom": _host(_sample("before", 2), cores=4)})[0]
    assert judge({"lom": _host(_sample("before", 2), cores=4)},
                 Thresholds(run_queue_per_core=0.5))[0]


def test_the_tests_own_load_during_it_is_not_contention() -> None:
    assert not judge({"lom": _host(_sample("before", 0), _sample("during", 7, None),
                                   _sample("after", 1))})[0]


def test_scheduling_latency_and_steal_make_a_host_busy() -> None:
    busy, reason = judge({"lom": _host(_sample("before", 0, 2.5))})
    assert busy and reason == "lom: p95 scheduling latency 2.5 ms > 2 ms before the test"
    assert not judge({"lom": _host(_sample("before", 0, 2.0))})[0]  # the limit is not busy
    busy, reason = judge({"lom": _host(_sample("before", 0), steal=7.5)})
    assert busy and reason == "lom: CPU steal 7.5 % > 5 %"


def test_every_finding_is_named() -> None:
    busy, reason = judge({"lom": _host(_sample("before", 3, 4.0), steal=9.0),
                          "yuki": _host(_sample("after", 2))})
    assert busy and reason.split("; ") == [
        "lom: run queue 3 >= 2 (2 cores) before the test",
        "lom: p95 scheduling latency 4 ms > 2 ms before the test",
        "lom: CPU steal 9 % > 5 %",
        "yuki: run queue 2 >= 2 (2 cores) after the test"]


def test_no_figures_is_not_busy_and_says_so() -> None:
    assert judge({}) == (False, "no contention figure could be taken")
    assert judge({"lom": HostContention(cores=0, notes=["/proc/stat unreadable"])}) == (
        False, "no contention figure could be taken")


def test_a_host_that_cannot_be_sampled_gives_notes_not_errors() -> None:
    host = FakeHost("lom", Rules())  # no /proc/stat, no vpb-probe answer
    with ContentionMonitor([host], interval_s=0.01) as monitor:
        pass
    result = monitor.result()
    assert not result.busy and result.reason == "no contention figure could be taken"
    notes = result.hosts["lom"].notes
    assert notes[0].startswith("/proc/stat unreadable") and "scheduling probe failed" in notes[1]


def test_the_monitor_samples_before_during_and_after_and_stays_bounded() -> None:
    rules = Rules().on("vpb-probe", "sched", reply=Reply(
        stdout=json.dumps({"sleep_us": 1000, "oversleep_us": [100, 200, 3000]})))
    host = FakeHost("lom", rules)
    host.write_file(PurePosixPath("/proc/stat"), PROC_STAT)
    with ContentionMonitor([host], interval_s=0.01, max_samples=4) as monitor:
        time.sleep(0.3)
    result = monitor.result()
    samples = result.hosts["lom"].samples
    phases = [sample.phase for sample in samples]
    assert phases[0] == "before" and phases[-1] == "after"
    assert 1 <= phases.count("during") < 4  # thinned out whenever it reached 4
    assert samples[0].run_queue == 9 and samples[0].sched_p95_ms == 3.0
    assert result.busy and result.hosts["lom"].steal_pct is None  # no time passed in /proc/stat
    assert result.reason.startswith("lom: run queue 9 >= 2 (2 cores) before the test")


def test_records_without_contention_still_load() -> None:
    fields = {"run_id": "r", "vpn": "wireguard", "profile": "baseline", "test": "ping",
              "source": "lom", "target": "yuki", "started_at": "2026-01-01T00:00:00Z",
              "ended_at": "2026-01-01T00:00:01Z", "status": "ok", "parameters": None}
    record = ResultRecord.model_validate(fields)
    assert record.contention is None and record.quiet_path is None


def test_a_light_measurement_is_judged_during_it_too() -> None:
    host = {"lom": _host(_sample("before", 0), _sample("during", 2, None), _sample("after", 0))}
    assert not judge(host)[0]
    busy, reason = judge(host, LIGHT_LOAD_THRESHOLDS)
    assert busy and reason == "lom: run queue 2 >= 2 (2 cores) during the test"
    assert LIGHT_LOAD_THRESHOLDS.describe().startswith("busy if, before or during or after")


def test_hosts_on_one_kernel_are_measured_once() -> None:
    """Two hosts of this machine share its kernel (same boot id): one is sampled, the other
    gets the same figures with a note; the verdict covers both."""
    from harness.hosts.local import LocalMachine

    hosts = [LocalMachine("lom"), LocalMachine("yuki")]
    with ContentionMonitor(hosts, interval_s=60) as monitor:
        pass
    figures = monitor.hosts()
    assert list(figures) == ["lom", "yuki"]
    assert figures["lom"].cores >= 1
    assert figures["yuki"].samples == figures["lom"].samples
    assert [s.phase for s in figures["lom"].samples] == ["before", "after"]
    assert "same kernel as lom: measured there" in figures["yuki"].notes
    assert not any("same kernel" in note for note in figures["lom"].notes)
