"""The site reader and the per-host VPN plans, evaluated purely on the real vpn-configs/.

The plans are what the NixOS modules map onto options, so their peers, roles, endpoints and
keys are checked here against harness.settings and against the key files themselves.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tomllib
from pathlib import Path
from typing import Any

import pytest

from harness.settings.addressing import coordinator, prefix_length, static_overlay_address
from harness.settings.loader import load_testbed, load_vpns
from harness.vpns.hyprspace import bootstrap_address
from tests.nix.nixeval import REPO, lib_expr, nix_eval, nix_path

CONFIGS = REPO / "vpn-configs"
TEMPLATE = REPO / "docs" / "site-template"
TEST_SITE = REPO / "nix" / "tests" / "fixtures" / "site"
TEST_KEYS = REPO / "nix" / "tests" / "fixtures" / "insecure-test-keys"
HOSTS = load_testbed(CONFIGS).hosts
VPNS = load_vpns(CONFIGS)


def site_problems(site: Path) -> list[str]:
    result: list[str] = nix_eval(
        f"{lib_expr()}.problems {nix_path(CONFIGS)} {nix_path(site)}"
    )
    return result


def plans(site: Path) -> Any:
    return nix_eval(
        f"let vpb = {lib_expr()}; c = vpb.vpnConfigs.load {nix_path(CONFIGS)}; "
        f"s = vpb.site.load {nix_path(site)}; in builtins.listToAttrs (map (v: {{ name = v; "
        "value = builtins.listToAttrs (map (h: { name = h; value = vpb.plans.plan c s v h; }) "
        "c.testbed.hosts); }) vpb.plans.vpnsWithPlans)"
    )


@pytest.fixture(scope="module")
def test_plans() -> Any:
    return plans(TEST_SITE)


def underlay(site: Path, host: str) -> str:
    address: str = tomllib.loads((site / "site.toml").read_text())["hosts"][host]["address"]
    return address


def public(site: Path, vpn: str, name: str) -> str:
    return (site / "public" / vpn / name).read_text().strip()


@pytest.mark.parametrize("site", [TEMPLATE, TEST_SITE], ids=["template", "test-site"])
def test_shipped_sites_have_no_problems(site: Path) -> None:
    assert site_problems(site) == []


def test_every_vpn_has_a_plan_for_every_host(test_plans: Any) -> None:
    assert sorted(test_plans) == sorted(VPNS)
    for vpn, per_host in test_plans.items():
        assert sorted(per_host) == sorted(HOSTS), vpn


def test_wireguard_is_a_full_mesh_with_the_site_keys(test_plans: Any) -> None:
    vpn = VPNS["wireguard"]
    for host in HOSTS:
        plan = test_plans["wireguard"][host]
        assert plan["cidr"] == f"{static_overlay_address(vpn, HOSTS, host)}/{prefix_length(vpn)}"
        assert [p["host"] for p in plan["peers"]] == [h for h in HOSTS if h != host]
        for peer in plan["peers"]:
            other = peer["host"]
            assert peer["allowedIPs"] == [f"{static_overlay_address(vpn, HOSTS, other)}/32"]
            assert peer["endpoint"] == f"{underlay(TEST_SITE, other)}:{vpn.port('listen')}"
            assert peer["publicKey"] == public(TEST_SITE, "wireguard", f"{other}.pub")


def test_roles_follow_the_coordinator(test_plans: Any) -> None:
    for vpn in ("nebula", "tinc", "easytier", "headscale", "zerotier"):
        boss = coordinator(VPNS[vpn], HOSTS)
        for host in HOSTS:
            assert test_plans[vpn][host]["isCoordinator"] == (host == boss), (vpn, host)
    nebula_boss = coordinator(VPNS["nebula"], HOSTS)
    boss_address = static_overlay_address(VPNS["nebula"], HOSTS, nebula_boss)
    for host in HOSTS:
        nebula = test_plans["nebula"][host]
        assert nebula["lighthouses"] == ([] if host == nebula_boss else [boss_address])
        assert sorted(nebula["staticHostMap"]) == sorted(
            static_overlay_address(VPNS["nebula"], HOSTS, h) for h in HOSTS if h != host
        )
        tinc = test_plans["tinc"][host]
        assert tinc["connectTo"] == ([] if host == coordinator(VPNS["tinc"], HOSTS)
                                     else [coordinator(VPNS["tinc"], HOSTS)])
        assert sorted(tinc["hostFiles"]) == sorted(HOSTS)
        easytier = test_plans["easytier"][host]
        et_boss = coordinator(VPNS["easytier"], HOSTS)
        assert easytier["peers"] == ([] if host == et_boss else
                                     [f"tcp://{underlay(TEST_SITE, et_boss)}:11010"])


def test_headscale_clients_use_the_coordinators_underlay(test_plans: Any) -> None:
    boss = coordinator(VPNS["headscale"], HOSTS)
    expected = f"http://{underlay(TEST_SITE, boss)}:{VPNS['headscale'].port('control')}"
    assert {test_plans["headscale"][h]["serverUrl"] for h in HOSTS} == {expected}


def test_zerotier_members_get_the_static_plan(test_plans: Any) -> None:
    vpn = VPNS["zerotier"]
    members = {h: static_overlay_address(vpn, HOSTS, h) for h in HOSTS}
    for host in HOSTS:
        assert test_plans["zerotier"][host]["members"] == members


def test_hyprspace_bootstraps_only_from_the_coordinator_offline(test_plans: Any) -> None:
    vpn = VPNS["hyprspace"]
    boss = coordinator(vpn, HOSTS)
    seed = bootstrap_address(underlay(TEST_SITE, boss), vpn.port(),
                             public(TEST_SITE, "hyprspace", f"{boss}.id"))
    for host in HOSTS:
        expected = [] if host == boss else [seed]
        assert test_plans["hyprspace"][host]["bootstrapPeers"] == expected


def test_ipv6_underlay_endpoints_are_bracketed(tmp_path: Path) -> None:
    site = tmp_path / "site"
    shutil.copytree(TEST_SITE, site)
    toml = site / "site.toml"
    toml.write_text(toml.read_text().replace('"192.168.1.2"', '"fd00:77::2"'))
    endpoints = nix_eval(
        f"let vpb = {lib_expr()}; c = vpb.vpnConfigs.load {nix_path(CONFIGS)}; "
        f"s = vpb.site.load {nix_path(site)}; in "
        "map (p: p.endpoint) (vpb.plans.plan c s \"wireguard\" \"lom\").peers"
    )
    assert "[fd00:77::2]:51820" in endpoints


# --- bad sites ------------------------------------------------------------------------------


@pytest.fixture
def site_copy(tmp_path: Path) -> Path:
    target = tmp_path / "site"
    shutil.copytree(TEST_SITE, target)
    return target


def test_address_collision_is_reported(site_copy: Path) -> None:
    toml = site_copy / "site.toml"
    toml.write_text(toml.read_text().replace('"192.168.1.3"', '"192.168.1.1"'))
    assert any("address collision" in p for p in site_problems(site_copy))


def test_underlay_inside_an_overlay_subnet_is_reported(site_copy: Path) -> None:
    toml = site_copy / "site.toml"
    toml.write_text(toml.read_text().replace('"192.168.1.3"', '"10.44.0.9"'))
    found = site_problems(site_copy)
    assert any("10.44.0.9 lies inside the wireguard overlay subnet 10.44.0.0/24" in p
               for p in found), found


def test_missing_host_lists_the_valid_hosts(site_copy: Path) -> None:
    toml = site_copy / "site.toml"
    text = toml.read_text()
    toml.write_text(text[: text.index("[hosts.luna]")] + text[text.index("[harness]"):])
    found = site_problems(site_copy)
    assert any("no [hosts.<name>] table for 'luna'" in p and "'lom', 'yuki', 'luna'" in p
               for p in found), found


def test_missing_public_key_is_named(site_copy: Path) -> None:
    (site_copy / "public" / "wireguard" / "yuki.pub").unlink()
    missing = nix_eval(
        f"let vpb = {lib_expr()}; in vpb.site.missingPublic (vpb.site.load "
        f'{nix_path(site_copy)}) [ "lom" "yuki" "luna" ] "wireguard"'
    )
    assert missing == ["public/wireguard/yuki.pub"]
    attempt = nix_eval(
        f"let vpb = {lib_expr()}; c = vpb.vpnConfigs.load {nix_path(CONFIGS)}; "
        f"s = vpb.site.load {nix_path(site_copy)}; in (builtins.tryEval "
        '(builtins.deepSeq (vpb.plans.plan c s "wireguard" "lom") true)).success'
    )
    assert attempt is False


# --- the key files themselves, checked with the real tools ----------------------------------


@pytest.mark.skipif(shutil.which("wg") is None, reason="wg (wireguard-tools) not installed")
def test_wireguard_test_keys_match_the_site() -> None:
    for host in HOSTS:
        private = (TEST_KEYS / host / "wireguard" / "private.key").read_text()
        derived = subprocess.run(["wg", "pubkey"], input=private, capture_output=True,
                                 text=True, check=True, timeout=30).stdout.strip()
        assert derived == public(TEST_SITE, "wireguard", f"{host}.pub")


@pytest.mark.skipif(shutil.which("nebula-cert") is None, reason="nebula-cert not installed")
@pytest.mark.parametrize("site", [TEMPLATE, TEST_SITE], ids=["template", "test-site"])
def test_nebula_certificates_carry_the_static_addresses(site: Path) -> None:
    vpn = VPNS["nebula"]
    for host in HOSTS:
        cert = site / "public" / "nebula" / f"{host}.crt"
        printed = subprocess.run(
            ["nebula-cert", "print", "-json", "-path", str(cert)],
            capture_output=True, text=True, check=True, timeout=30,
        ).stdout
        parsed = json.loads(printed.splitlines()[0])
        # nebula-cert >= 1.10 prints a list of certificates, with "networks" for "ips".
        details = (parsed[0] if isinstance(parsed, list) else parsed)["details"]
        address = static_overlay_address(vpn, HOSTS, host)
        assert details["name"] == host
        assert details.get("networks", details.get("ips")) == [
            f"{address}/{prefix_length(vpn)}"]
        subprocess.run(
            ["nebula-cert", "verify", "-ca", str(site / "public" / "nebula" / "ca.crt"),
             "-crt", str(site / "public" / "nebula" / f"{host}.crt")],
            capture_output=True, text=True, check=True, timeout=30,
        )
