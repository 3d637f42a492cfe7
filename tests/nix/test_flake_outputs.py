"""The flake's output structure, evaluated without nixpkgs.

flake.nix builds its attribute structure from builtins and modules/lib only; nixpkgs is
needed for values. So calling `outputs` with a stub nixpkgs (whose use would fail loudly)
and listing attribute names checks what `nix flake show` would list.
"""

from __future__ import annotations

from typing import Any

import pytest

from harness.vpns.registry import VPNS
from tests.nix.nixeval import REPO, nix_eval, nix_path

SYSTEMS = ["aarch64-linux", "x86_64-linux"]
#: Every VPN of the harness registry has a NixOS module, a VM test, a specialisation.
KNOWN_VPNS = sorted(VPNS)

STUB = """
let
  flake = import {flake};
  nixpkgs = {{
    lib = {{
      nixosSystem = args: throw "stub nixosSystem called";
      optional = cond: x: if cond then [ x ] else [ ];
      getName = p: throw "stub getName called";
    }};
  }};
  outputs = flake.outputs {{ inherit self nixpkgs; }};
  self = outputs // {{ outPath = {root}; }};
  names = builtins.attrNames;
in
{{
  description = flake.description;
  inputs = names flake.inputs;
  top = names outputs;
  perSystem = builtins.mapAttrs (_: v: names v) {{
    inherit (self) packages apps checks devShells formatter;
  }};
  packages = names self.packages.x86_64-linux;
  apps = names self.apps.x86_64-linux;
  checks = names self.checks.x86_64-linux;
  devShells = names self.devShells.x86_64-linux;
  nixosConfigurations = names self.nixosConfigurations;
  nixosModules = names self.nixosModules;
  templates = names self.templates;
  lib = names self.lib;
}}
"""


@pytest.fixture(scope="module")
def outputs() -> Any:
    return nix_eval(STUB.format(flake=nix_path(REPO / "flake.nix"), root=nix_path(REPO)))


def test_top_level_outputs(outputs: Any) -> None:
    assert outputs["inputs"] == ["nixpkgs"]
    assert outputs["top"] == sorted([
        "apps", "checks", "devShells", "formatter", "lib", "nixosConfigurations",
        "nixosModules", "packages", "templates",
    ])
    for attr, systems in outputs["perSystem"].items():
        assert systems == SYSTEMS, attr


def test_packages_and_apps(outputs: Any) -> None:
    assert outputs["packages"] == sorted(
        ["default", "vpn-bench", "vpncloud", "vpb-linkemu", "vpb-quic", "vpn-bench-tools"])
    assert outputs["apps"] == ["analysis", "bench", "bench-vm", "default"]
    assert outputs["devShells"] == ["default"]


def test_one_vm_test_per_vpn_plus_netem_python_and_builds(outputs: Any) -> None:
    expected = {f"vm-{vpn}" for vpn in KNOWN_VPNS} | {
        "vm-netem", "bench-vm", "python", "vpn-bench", "vpncloud", "vpb-linkemu", "vpb-quic"}
    assert set(outputs["checks"]) == expected


def test_hosts_and_modules(outputs: Any) -> None:
    assert outputs["nixosConfigurations"] == ["lom", "luna", "yuki"]
    assert outputs["nixosModules"] == sorted([*KNOWN_VPNS, "common", "default", "specialisations"])
    assert outputs["templates"] == ["default", "site"]
    assert "mkHosts" in outputs["lib"] and "vpnConfigs" in outputs["lib"]
