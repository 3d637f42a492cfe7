"""`make bench`'s plan (plans/bench.toml) is a valid plan: every workload under baseline,
every workload but reconnect under high, the short settings in effect."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from harness.runner.planfile import load_plan_file

REPO = Path(__file__).resolve().parents[2]


def test_the_bench_plan_builds_with_every_workload(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "harness", "run", "--dry-run", "--vpn", "internal",
         "--plan", str(REPO / "plans" / "bench.toml"), "--out", str(tmp_path / "out")],
        cwd=REPO, capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    sessions = [line.split() for line in result.stdout.splitlines()
                if line.strip().startswith("rep 0")]
    tests = {words[3]: " ".join(words[4:]) for words in sessions}
    assert set(tests) == {"baseline", "high"}
    for name in ("parallel_tcp", "tcp", "udp", "ping", "quic", "nix_cache", "rist"):
        assert name in tests["baseline"] and name in tests["high"]
    assert "reconnect" in tests["baseline"] and "reconnect" not in tests["high"]
    assert "tcp: duration_s=2 " in result.stdout
    assert "ping: count=15 interval_s=0.1" in result.stdout
    assert "duration_s=2 " in result.stdout.split("rist:")[1].splitlines()[0]
    assert "keyframe_interval_s=1 " in result.stdout.split("rist:")[1].splitlines()[0]
    assert "reconnect measured on lom->yuki only" in result.stdout
    assert not (tmp_path / "out").exists()


def test_the_bench_plan_bounds_its_two_second_tests_tightly() -> None:
    plan = load_plan_file(REPO / "plans" / "bench.toml")
    for test in ("parallel_tcp", "tcp", "ping", "quic"):
        assert plan.test[test].timeout == 30, test
    assert plan.test["udp"].timeout == 20  # a lost UDP connect costs iperf3 3.12 30 s
    assert plan.test["reconnect"].links == 1  # one disturbed host per VPN
    assert plan.test["rist"].links == 1  # one stream per VPN and profile
