"""The VPN seam: one registry of VPN descriptions, read by the CLI, `vpn-bench keys`, the
analysis and the tests; availability asked of a Host and answered without running anything.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping, Sequence
from pathlib import Path, PurePosixPath

import pytest

from analysis.figures.style import REFERENCE_COLOUR, SPARE_COLOURS, vpn_palette
from analysis.ordering import REFERENCE_VPN
from harness.hosts.base import CommandResult, Host, Process
from harness.keys.selection import key_vpns
from harness.runner.plan import REFERENCE_VPN as RUNNER_REFERENCE
from harness.settings.loader import load_vpns
from harness.vpns import easytier, easytier_launcher, wireguard
from harness.vpns.registry import REFERENCE, VPNS, by_name_or_alias, create_adapter, with_keys

REPO = Path(__file__).resolve().parents[2]


class PathOnlyHost(Host):
    """A host that knows which binaries it has and refuses to run anything: availability
    must be answered from ``which`` alone (no probe, no namespace, nothing as root)."""

    def __init__(self, binaries: set[str]) -> None:
        self.name = "fake"
        self.state_dir = PurePosixPath("/nonexistent")
        self.binaries = binaries
        self.asked: list[str] = []

    def which(self, binary: str) -> str | None:
        self.asked.append(binary)
        return f"/usr/bin/{binary}" if binary in self.binaries else None

    def run(self, argv: Sequence[str], *, timeout: float, input_text: str | None = None,
            env: Mapping[str, str] | None = None) -> CommandResult:
        raise AssertionError(f"availability ran {list(argv)}")

    def start(self, argv: Sequence[str], *, name: str,
              env: Mapping[str, str] | None = None) -> Process:
        raise AssertionError(f"availability started {list(argv)}")

    def processes(self) -> list[Process]:
        return []


def everything() -> set[str]:
    return {req.binary for vpn in VPNS.values() for req in vpn.requirements}


def test_registry_names_the_vpns_of_vpn_configs() -> None:
    settings = load_vpns()
    assert set(VPNS) == set(settings)
    for name, vpn in VPNS.items():
        assert vpn.name == name == vpn.adapter.name
        assert create_adapter(settings[name]).name == name


def test_one_reference_shared_by_runner_and_analysis() -> None:
    assert REFERENCE.name == RUNNER_REFERENCE == REFERENCE_VPN == "internal"
    assert [vpn.name for vpn in VPNS.values() if vpn.reference] == ["internal"]


def test_colours_are_distinct_and_used_by_the_figures() -> None:
    colours = [vpn.colour for vpn in VPNS.values()]
    assert len(set(colours)) == len(colours)
    palette = vpn_palette([*VPNS, "Tailscale", "legacy-vpn"])
    for name, vpn in VPNS.items():
        assert palette[name] == vpn.colour
    assert palette["internal"] == REFERENCE_COLOUR
    assert palette["Tailscale"] == VPNS["headscale"].colour  # an older name, same colour
    assert palette["legacy-vpn"] in SPARE_COLOURS  # unknown names still get a colour
    assert by_name_or_alias("NEBULA") is VPNS["nebula"]
    assert by_name_or_alias("nope") is None


def test_every_requirement_says_where_to_get_it_and_how_to_ask_its_version() -> None:
    for vpn in VPNS.values():
        for req in vpn.requirements:
            assert req.version_argv[0] == req.binary and len(req.version_argv) >= 2
            assert f"binary {req.binary}" in req.how_to_install()
            assert "Nix package" in req.how_to_install()


def test_keys_command_makes_what_the_registry_says() -> None:
    assert key_vpns() == [vpn.name for vpn in with_keys()]
    for vpn in VPNS.values():
        assert (vpn.keys is None) == (vpn.keys_elsewhere is not None), vpn.name


@pytest.mark.parametrize("name", sorted(VPNS))
def test_availability_asks_the_host_and_runs_nothing(name: str) -> None:
    adapter = create_adapter(load_vpns()[name])
    nothing = PathOnlyHost(set())
    reason = adapter.unavailable_reason(nothing)
    if adapter.requirements or adapter.alternatives:
        assert nothing.asked, "the host's which() must be asked"
        assert reason is not None and "not installed" in reason
    else:
        assert reason is None
    assert adapter.unavailable_reason(PathOnlyHost(everything())) is None


def test_wireguard_without_wireguard_go_is_decided_at_run_time() -> None:
    adapter = create_adapter(load_vpns()["wireguard"])
    host = PathOnlyHost({"wg"})
    reason = adapter.unavailable_reason(host)
    assert reason is not None
    assert "needs wireguard-go or the wireguard kernel module (tried at run time)" in reason
    assert "wireguard-go" in host.asked
    assert adapter.unavailable_reason(PathOnlyHost({"wg", "wireguard-go"})) is None
    assert wireguard.WIREGUARD_GO in adapter.alternatives


def test_easytier_prefers_the_native_binary_then_the_console_script() -> None:
    assert easytier.available_runner(PathOnlyHost({"easytier-core", "vpb-easytier"})) == (
        "easytier-core")
    assert easytier.available_runner(PathOnlyHost({"vpb-easytier"})) == "vpb-easytier"
    assert easytier.available_runner(PathOnlyHost(set())) is None
    reason = create_adapter(load_vpns()["easytier"]).unavailable_reason(PathOnlyHost(set()))
    assert reason is not None and "easytier-core" in reason and "vpb-easytier" in reason


def test_vpb_easytier_is_this_package_s_console_script() -> None:
    scripts = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["scripts"]
    module, function = scripts[easytier.VPB_EASYTIER.binary].split(":")
    assert module == easytier_launcher.__name__ and function == "main"
    assert easytier.VPB_EASYTIER.binary == easytier_launcher.PROCESS_NAME
