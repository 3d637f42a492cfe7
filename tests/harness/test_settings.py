"""vpn-configs: the real files load, address plans hold, bad settings are named."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.settings.addressing import coordinator, nth_address, static_overlay_address
from harness.settings.loader import ConfigError, load_testbed, load_vpns
from harness.vpns.registry import VPNS


def test_real_configs_load_and_cover_every_vpn_of_the_registry() -> None:
    vpns = load_vpns()
    assert set(vpns) == set(VPNS)
    assert all(vpns[name].name == name for name in VPNS)
    assert load_testbed().hosts == ["lom", "yuki", "luna"]


def test_static_addresses_follow_ring_index() -> None:
    vpns = load_vpns()
    hosts = load_testbed().hosts
    assert [static_overlay_address(vpns["wireguard"], hosts, h) for h in hosts] == [
        "10.44.0.1", "10.44.0.2", "10.44.0.3"]
    assert coordinator(vpns["nebula"], hosts) == "lom"


def test_static_addresses_are_unique_across_vpns() -> None:
    vpns = load_vpns()
    subnets = [v.addressing.subnet for v in vpns.values() if v.addressing.mode == "static"]
    assert len(subnets) == len(set(subnets))


def test_nth_address_bounds() -> None:
    assert nth_address("10.0.0.0/30", 2) == "10.0.0.2"
    with pytest.raises(ValueError, match="no host number 3"):
        nth_address("10.0.0.0/30", 3)


def _write(directory: Path, name: str, text: str) -> None:
    (directory / "vpns").mkdir(parents=True, exist_ok=True)
    (directory / "vpns" / f"{name}.toml").write_text(text)


def test_interface_name_too_long_is_named(tmp_path: Path) -> None:
    _write(tmp_path, "x", 'name = "x"\ndisplay_name = "X"\ninterface = "a-very-long-name0"\n'
                          '[addressing]\nmode = "underlay"\n')
    with pytest.raises(ConfigError, match="at most 15"):
        load_vpns(tmp_path)


def test_static_mode_needs_subnet(tmp_path: Path) -> None:
    _write(tmp_path, "x", 'name = "x"\ndisplay_name = "X"\n[addressing]\nmode = "static"\n')
    with pytest.raises(ConfigError, match="needs a subnet"):
        load_vpns(tmp_path)


def test_file_name_must_match(tmp_path: Path) -> None:
    _write(tmp_path, "y", 'name = "x"\ndisplay_name = "X"\n[addressing]\nmode = "underlay"\n')
    with pytest.raises(ConfigError, match="differs from the file name"):
        load_vpns(tmp_path)
