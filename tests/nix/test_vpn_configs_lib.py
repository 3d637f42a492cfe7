"""modules/lib evaluated purely on the real vpn-configs/ agrees with harness.settings.

The Nix modules and the Python harness read the same files; this test is what keeps their
readings (hosts, coordinators, static addresses, prefix lengths, interfaces, ports) equal.
"""

from __future__ import annotations

import ipaddress
import shutil
from pathlib import Path
from typing import Any

import pytest

from harness.settings.addressing import (
    coordinator,
    lan_address,
    nth_address,
    prefix_length,
    static_overlay_address,
)
from harness.settings.loader import load_testbed, load_vpns
from harness.settings.models import VpnSettings
from tests.nix.nixeval import REPO, lib_expr, nix_eval, nix_path

CONFIGS = REPO / "vpn-configs"


def summary(config_dir: Path) -> Any:
    return nix_eval(
        f"let vc = {lib_expr()}.vpnConfigs; c = vc.load {nix_path(config_dir)}; "
        "in { problems = c.problems; summary = if c.problems == [ ] then vc.summary c else null; }"
    )


def problems(config_dir: Path) -> list[str]:
    result: list[str] = summary(config_dir)["problems"]
    return result


@pytest.fixture(scope="module")
def nix_summary() -> Any:
    result = summary(CONFIGS)
    assert result["problems"] == []
    return result["summary"]


@pytest.fixture(scope="module")
def hosts() -> list[str]:
    return load_testbed(CONFIGS).hosts


@pytest.fixture(scope="module")
def vpns() -> dict[str, VpnSettings]:
    return load_vpns(CONFIGS)


def firewall(vpn: VpnSettings) -> dict[str, list[int]]:
    def ports(proto: str) -> list[int]:
        return sorted({p.port for p in vpn.ports.values() if proto in p.protocols})

    return {"allowedTCPPorts": ports("tcp"), "allowedUDPPorts": ports("udp")}


def test_hosts_and_vpns_match(nix_summary: Any, hosts: list[str],
                              vpns: dict[str, VpnSettings]) -> None:
    assert nix_summary["hosts"] == hosts
    assert nix_summary["vpns"] == sorted(vpns)


def test_lan_addresses_match(nix_summary: Any, hosts: list[str]) -> None:
    testbed = load_testbed(CONFIGS)
    assert nix_summary["lanAddresses"] == {h: lan_address(testbed, hosts, h) for h in hosts}


def test_coordinators_match(nix_summary: Any, hosts: list[str],
                            vpns: dict[str, VpnSettings]) -> None:
    assert nix_summary["coordinators"] == {n: coordinator(v, hosts) for n, v in vpns.items()}


def test_static_addresses_match(nix_summary: Any, hosts: list[str],
                                vpns: dict[str, VpnSettings]) -> None:
    expected = {
        name: {h: static_overlay_address(vpn, hosts, h) for h in hosts}
        for name, vpn in vpns.items()
        if vpn.addressing.mode == "static"
    }
    assert expected, "vpn-configs has no static address plan to compare"
    assert nix_summary["staticAddresses"] == expected


def test_prefix_lengths_match(nix_summary: Any, vpns: dict[str, VpnSettings]) -> None:
    expected = {n: prefix_length(v) for n, v in vpns.items() if v.addressing.subnet is not None}
    assert nix_summary["prefixLengths"] == expected


def test_interfaces_mtus_modes_match(nix_summary: Any, vpns: dict[str, VpnSettings]) -> None:
    assert nix_summary["interfaces"] == {n: v.interface for n, v in vpns.items()}
    assert nix_summary["mtus"] == {n: v.mtu for n, v in vpns.items()}
    assert nix_summary["modes"] == {n: v.addressing.mode for n, v in vpns.items()}


def test_firewall_ports_match(nix_summary: Any, vpns: dict[str, VpnSettings]) -> None:
    assert nix_summary["firewall"] == {n: firewall(v) for n, v in vpns.items()}
    assert nix_summary["listenPorts"] == {
        n: v.port("listen") for n, v in vpns.items() if "listen" in v.ports
    }


@pytest.mark.parametrize(
    ("subnet", "host_number"),
    [("10.44.0.0/24", 1), ("10.44.0.0/24", 254), ("10.0.0.0/30", 2), ("400::/7", 3),
     ("fd00:1::/64", 65536), ("2001:db8::/120", 255), ("100.64.0.0/10", 70000)],
)
def test_nth_address_matches_python(subnet: str, host_number: int) -> None:
    network = ipaddress.ip_network(subnet)
    expected = str(network.network_address + host_number)
    assert nix_eval(f'{lib_expr()}.ip.nthAddress "{subnet}" {host_number}') == expected


@pytest.mark.parametrize(
    "address",
    ["2001:db8:0:0:1:0:0:1", "::", "::1", "1:0:0:2:0:0:0:3", "1:0:2:0:3:0:4:0", "fe80::",
     "2001:DB8::A:0", "0:0:1::"],
)
def test_ipv6_text_form_matches_python(address: str) -> None:
    expected = str(ipaddress.ip_address(address))
    assert nix_eval(f'{lib_expr()}.ip.canonicalIPv6 "{address}"') == expected


@pytest.mark.parametrize(("subnet", "host_number"), [("10.0.0.0/30", 3), ("10.0.0.0/24", 0),
                                                      ("10.0.0.1/24", 1), ("2001:db8::/127", 2)])
def test_nth_address_refuses_what_python_refuses(subnet: str, host_number: int) -> None:
    with pytest.raises(ValueError):
        nth_address(subnet, host_number)
    attempt = nix_eval(
        f'(builtins.tryEval ({lib_expr()}.ip.nthAddress "{subnet}" {host_number})).success'
    )
    assert attempt is False


# --- bad vpn-configs: each problem is reported with the file, the field and the choices ---


@pytest.fixture
def config_copy(tmp_path: Path) -> Path:
    target = tmp_path / "vpn-configs"
    shutil.copytree(CONFIGS, target)
    return target


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new))


def test_interface_name_too_long_is_reported(config_copy: Path) -> None:
    edit(config_copy / "vpns" / "wireguard.toml", 'interface = "wg0"',
         'interface = "wg-much-too-long-0"')
    found = problems(config_copy)
    assert len(found) == 1
    assert "wireguard.toml" in found[0] and "'wg-much-too-long-0' is 18 characters" in found[0]
    assert "at most 15" in found[0]


def test_unknown_vpn_is_reported(config_copy: Path) -> None:
    (config_copy / "vpns" / "openvpn.toml").write_text(
        'name = "openvpn"\ndisplay_name = "OpenVPN"\n[addressing]\nmode = "underlay"\n'
    )
    found = problems(config_copy)
    assert any("unknown VPN 'openvpn'" in p and "'wireguard'" in p for p in found), found


def test_name_differing_from_file_is_reported(config_copy: Path) -> None:
    edit(config_copy / "vpns" / "tinc.toml", 'name = "tinc"', 'name = "tinc10"')
    assert any("name 'tinc10' differs from the file name 'tinc'" in p
               for p in problems(config_copy))


def test_static_plan_without_subnet_is_reported(config_copy: Path) -> None:
    edit(config_copy / "vpns" / "nebula.toml", 'subnet = "10.45.0.0/24"\n', "")
    assert any("addressing mode 'static' needs a subnet" in p for p in problems(config_copy))


def test_subnet_with_host_bits_is_reported(config_copy: Path) -> None:
    edit(config_copy / "vpns" / "nebula.toml", 'subnet = "10.45.0.0/24"', 'subnet = "10.45.0.7/24"')
    assert any("'10.45.0.7/24' is not a valid network" in p for p in problems(config_copy))


def test_bad_mode_lists_the_valid_modes(config_copy: Path) -> None:
    edit(config_copy / "vpns" / "easytier.toml", 'mode = "static"', 'mode = "dhcp"')
    found = [p for p in problems(config_copy) if "mode 'dhcp'" in p]
    assert found and "'underlay', 'static', 'derived', 'assigned'" in found[0]


def test_duplicate_hosts_are_reported(config_copy: Path) -> None:
    edit(config_copy / "testbed.toml", 'hosts = ["lom", "yuki", "luna"]',
         'hosts = ["lom", "yuki", "lom"]')
    assert any("host names must be unique" in p for p in problems(config_copy))


def test_port_out_of_range_is_reported(config_copy: Path) -> None:
    edit(config_copy / "vpns" / "wireguard.toml", "port = 51820", "port = 70000")
    assert any("[ports.listen]: port 70000 is outside 1..65535" in p
               for p in problems(config_copy))


def test_python_rejects_what_nix_rejects(config_copy: Path) -> None:
    """The same broken file fails in both readers (so neither side is laxer)."""
    edit(config_copy / "vpns" / "wireguard.toml", 'interface = "wg0"',
         'interface = "wg-much-too-long-0"')
    with pytest.raises(ValueError, match="at most 15"):
        load_vpns(config_copy)
    assert problems(config_copy)
