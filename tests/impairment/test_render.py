"""tc command lines and vpb-linkemu configs rendered from the model."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from harness.impairment.linkemu_config import egress_config, switch_config
from harness.impairment.profiles import BUILTIN_PROFILES
from harness.impairment.tc_render import apply_command, remove_command
from harness.netem.model import Chance, GilbertElliottLoss, Impairment, Reorder, StateLoss
from harness.netem.queue_limit import bdp_limit


def _egress(name: str) -> Impairment:
    egress = BUILTIN_PROFILES[name].egress
    assert egress is not None
    return egress


def test_queue_limit_holds_the_bandwidth_delay_product() -> None:
    # 1 Gbit/s x (delay + 3 jitter) / 12000 bit: low 8 ms -> 667 -> floor 1000,
    # medium 25 ms -> 2084, high 51 ms -> 4250.
    assert [bdp_limit(_egress(n)) for n in ("low", "medium", "high")] == [1000, 2084, 4250]
    assert bdp_limit(Impairment(delay_ms=1, limit_packets=50)) == 50
    assert bdp_limit(Impairment(delay_ms=3_600_000)) == 1_000_000  # capped


@pytest.mark.parametrize(("name", "expected"), [
    ("low", "limit 1000 delay 2ms 2ms loss random 0.25% reorder 0.5% 25%"),
    ("medium", "limit 2084 delay 4ms 7ms loss random 1% reorder 2.5% 50%"),
    ("high", "limit 4250 delay 6ms 15ms loss random 2.5% reorder 5% 50%"),
])
def test_tc_lines_of_the_builtins(name: str, expected: str) -> None:
    assert " ".join(apply_command("lan0", _egress(name))) == (
        f"tc qdisc replace dev lan0 root netem {expected}")


def test_tc_line_with_every_option() -> None:
    impairment = Impairment(
        delay_ms=10.5, jitter_ms=2, delay_correlation=25, distribution="pareto",
        loss=StateLoss(model="state", p13=1, p31=20), reorder=Reorder(percent=1, gap=5),
        duplicate=Chance(percent=0.1), corrupt=Chance(percent=0.2, correlation=10),
        rate_mbit=100, limit_packets=5000)
    assert apply_command("lan0", impairment, seed=7) == [
        "tc", "qdisc", "replace", "dev", "lan0", "root", "netem", "limit", "5000",
        "delay", "10500us", "2ms", "25%", "distribution", "pareto",
        "loss", "state", "1%", "20%", "0%", "100%", "0%", "reorder", "1%", "gap", "5",
        "duplicate", "0.1%", "corrupt", "0.2%", "10%", "rate", "100000000bit", "seed", "7"]
    gemodel = Impairment(loss=GilbertElliottLoss(model="gemodel", p=1, r=30))
    assert apply_command("lan0", gemodel)[-5:] == ["gemodel", "1%", "30%", "100%", "0%"]
    assert remove_command("lan0") == ["tc", "qdisc", "del", "dev", "lan0", "root"]


def test_linkemu_config_in_fractions_and_microseconds() -> None:
    assert egress_config(_egress("high")) == {
        "limit_packets": 4250, "delay_us": 6000.0, "jitter_us": 15000.0,
        "loss": {"model": "random", "probability": 0.025, "correlation": 0.0},
        "reorder": {"probability": 0.05, "correlation": 0.5, "gap": 1},
    }
    config = switch_config(["p-lom", "p-yuki"], _egress("low"), seed=42,
                           ready_file="/r", stats_file="/s")
    assert [port["interface"] for port in config["ports"]] == ["p-lom", "p-yuki"]
    assert config["seed"] == 42 and config["ports"][0]["egress"]["loss"]["probability"] == 0.0025


def test_the_switch_accepts_every_rendered_config(linkemu_binary: Path, tmp_path: Path) -> None:
    """vpb-linkemu --check parses the config and reports it in the kernel's units."""
    profiles = [_egress(n) for n in ("low", "medium", "high")] + [
        Impairment(delay_ms=10, jitter_ms=3, distribution="paretonormal",
                   loss=GilbertElliottLoss(model="gemodel", p=1, r=30),
                   reorder=Reorder(percent=100, gap=5), duplicate=Chance(percent=1),
                   rate_mbit=50)]
    for index, impairment in enumerate(profiles):
        path = tmp_path / f"config-{index}.json"
        path.write_text(json.dumps(switch_config(["p-a", "p-b"], impairment, seed=5,
                                                 ready_file="", stats_file="")))
        checked = subprocess.run([str(linkemu_binary), "--check", str(path)],
                                 capture_output=True, text=True, timeout=30, check=False)
        assert checked.returncode == 0, checked.stderr
        port = json.loads(checked.stdout)["ports"][1]
        assert port["seed"] == 6  # seed + port index
        assert port["latency_ns"] == round(impairment.delay_ms * 1e6)
        assert port["jitter_ns"] == round(impairment.jitter_ms * 1e6)
        assert port["limit"] == bdp_limit(impairment)
