"""Runtime settings the harness adapters and the NixOS modules both set come from the same
``[options]`` of vpn-configs, with the same defaults: each case evaluates the modules' plans
(modules/lib/plans.nix, pure Nix) and compares them with what the adapter renders from
``harness.settings`` for the shipped configs, for configs without the options (defaults),
and for configs with every option changed (both sides must follow)."""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from harness.settings.loader import load_testbed, load_vpns
from harness.settings.models import VpnSettings
from harness.vpns import easytier, nebula, tinc, yggdrasil
from tests.nix.nixeval import REPO, lib_expr, nix_eval, nix_path

CONFIGS = REPO / "vpn-configs"
TEST_SITE = REPO / "nix" / "tests" / "fixtures" / "site"
HOSTS = load_testbed(CONFIGS).hosts

#: Options of each VPN that both sides read, and a value other than the shipped one.
CHANGED: dict[str, dict[str, str]] = {
    "nebula": {"punch": "true", "lighthouse_interval": "30", "listen_host": '"::"'},
    "tinc": {"mode": '"switch"', "cipher": '"aes-128-cbc"', "digest": '"sha512"'},
    "yggdrasil": {"node_info_privacy": "false"},
    "easytier": {"instance_name": '"bench"', "network_name": '"other"'},
}


def plan(config_dir: Path, vpn: str, host: str) -> Any:
    return nix_eval(
        f"let vpb = {lib_expr()}; c = vpb.vpnConfigs.load {nix_path(config_dir)}; "
        f"s = vpb.site.load {nix_path(TEST_SITE)}; in vpb.plans.plan c s \"{vpn}\" \"{host}\"")


def rewrite_options(config_dir: Path, vpn: str, values: dict[str, str] | None) -> None:
    """Drop the shared options of ``vpn`` (``values`` None) or set them to ``values``."""
    path = config_dir / "vpns" / f"{vpn}.toml"
    shared = re.compile(rf"\s*({'|'.join(CHANGED[vpn])})\s*=")
    kept, table = [], ""
    for line in path.read_text().splitlines():
        if line.startswith("["):
            table = line.strip()
        if not (table == "[options]" and shared.match(line)):
            kept.append(line)
    if values is not None:
        if "[options]" not in kept:
            kept.append("[options]")
        at = kept.index("[options]") + 1
        kept[at:at] = [f"{key} = {value}" for key, value in values.items()]
    path.write_text("\n".join(kept) + "\n")


Variant = Callable[[Path], Path]


def shipped(tmp_path: Path) -> Path:
    return CONFIGS


def without_options(tmp_path: Path) -> Path:
    copy = tmp_path / "vpn-configs"
    shutil.copytree(CONFIGS, copy)
    for vpn in CHANGED:
        rewrite_options(copy, vpn, None)
    return copy


def with_changed_options(tmp_path: Path) -> Path:
    copy = tmp_path / "vpn-configs"
    shutil.copytree(CONFIGS, copy)
    for vpn, values in CHANGED.items():
        rewrite_options(copy, vpn, values)
    return copy


@pytest.fixture(params=[shipped, without_options, with_changed_options],
                ids=["shipped", "defaults", "changed"])
def configs(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[Path, dict[str,
                                                                              VpnSettings]]:
    variant: Variant = request.param
    directory = variant(tmp_path)
    return directory, load_vpns(directory)


def test_changed_variant_really_changes_every_option(tmp_path: Path) -> None:
    before, after = load_vpns(CONFIGS), load_vpns(with_changed_options(tmp_path))
    for vpn, values in CHANGED.items():
        for key in values:
            assert before[vpn].options.get(key) != after[vpn].options.get(key), (vpn, key)


def test_nebula_knobs(configs: tuple[Path, dict[str, VpnSettings]]) -> None:
    directory, vpns = configs
    expected = nebula.knobs(vpns["nebula"])
    for host in HOSTS:
        got = plan(directory, "nebula", host)
        assert (got["punch"], got["lighthouseInterval"], got["listenHost"]) == (
            expected.punch, expected.lighthouse_interval, expected.listen_host)
        assert got["mtu"] == vpns["nebula"].mtu and got["interface"] == vpns["nebula"].interface


def test_nebula_adapter_config_carries_the_knobs() -> None:
    settings = load_vpns(CONFIGS)["nebula"]
    text = nebula.render_config(
        ca="ca", cert="crt", key="key", lighthouse_overlay="10.45.0.1",
        static_host_map={"10.45.0.2": ["10.77.0.2:4242"]}, is_lighthouse=False, port=4242,
        interface="nebula.vpb", mtu=1300, knobs=nebula.knobs(settings))
    config = json.loads(text)
    nix = plan(CONFIGS, "nebula", HOSTS[1])
    assert config["punchy"] == {"punch": nix["punch"]}
    assert config["lighthouse"]["interval"] == nix["lighthouseInterval"]
    assert config["listen"]["host"] == nix["listenHost"]


def test_tinc_mode_cipher_digest(configs: tuple[Path, dict[str, VpnSettings]]) -> None:
    directory, vpns = configs
    expected = tinc.tinc_options(vpns["tinc"])
    got = plan(directory, "tinc", HOSTS[0])
    assert {key: got[key] for key in ("mode", "cipher", "digest")} == expected


def test_yggdrasil_node_info_privacy(configs: tuple[Path, dict[str, VpnSettings]]) -> None:
    directory, vpns = configs
    assert plan(directory, "yggdrasil", HOSTS[0])["nodeInfoPrivacy"] == (
        yggdrasil.node_info_privacy(vpns["yggdrasil"]))


def test_easytier_instance_and_network(configs: tuple[Path, dict[str, VpnSettings]]) -> None:
    directory, vpns = configs
    got = plan(directory, "easytier", HOSTS[0])
    assert (got["instance"], got["networkName"]) == easytier.identity(vpns["easytier"])
