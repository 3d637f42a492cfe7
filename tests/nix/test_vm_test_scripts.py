"""The Python test scripts of the NixOS VM tests, rendered without nixpkgs and checked
statically: they must parse, and every name they read must be defined by the script, be a
builtin, or be a symbol the NixOS test driver provides. (The VMs themselves need KVM and a
Nix store with nixpkgs; this catches script errors before anyone spends a VM boot on them.)
"""

from __future__ import annotations

import ast
import builtins
import json
import subprocess
from pathlib import Path

import pytest

from harness.vpns.registry import VPNS
from tests.nix.nixeval import REPO, nix_eval, nix_path

#: Every VPN of the harness registry has a NixOS module, a VM test, a specialisation.
KNOWN_VPNS = sorted(VPNS)
DRIVER_SYMBOLS = {"start_all", "subtest", "retry", "machines", "driver", "log", "t",
                  "lom", "yuki", "luna"}

# Just enough of pkgs for the test files to produce their arguments to runNixOSTest.
STUB_PKGS = """
{
  testers.runNixOSTest = test: test;
  lib = rec {
    fileset = {
      toSource = { root, fileset }: toString root;
      unions = list: list;
    };
    splitString = sep: s: builtins.filter builtins.isString (builtins.split sep s);
    concatMapStrings = f: list: builtins.concatStringsSep "" (map f list);
    optionalString = cond: s: if cond then s else "";
  };
}
"""
STUB_SELF = '{ nixosModules.default = { }; }'


def render(expression: str) -> str:
    script: str = nix_eval(f"({expression}).testScript")
    return script


def bench_vm_script() -> str:
    """The vm backend's test script (nix/tests/bench-vm.nix); the harness source is the repo."""
    return render(f"import {nix_path(REPO / 'nix' / 'tests' / 'bench-vm.nix')} "
                  f"{{ pkgs = {STUB_PKGS}; self = {STUB_SELF}; packages = {{ }}; }}")


def vpn_script(vpn: str) -> str:
    return render(f"import {nix_path(REPO / 'nix' / 'tests' / 'vpn.nix')} "
                  f"{{ pkgs = {STUB_PKGS}; self = {STUB_SELF}; vpn = {json.dumps(vpn)}; }}")


def free_names(tree: ast.Module) -> set[str]:
    assigned: set[str] = set()
    read: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            (assigned if isinstance(node.ctx, ast.Store) else read).add(node.id)
        elif isinstance(node, ast.FunctionDef):
            assigned.add(node.name)
            assigned.update(a.arg for a in node.args.args)
        elif isinstance(node, ast.alias):
            assigned.add(node.asname or node.name)
        elif isinstance(node, ast.ExceptHandler) and node.name:
            assigned.add(node.name)
        elif isinstance(node, ast.comprehension):
            assigned.update(n.id for n in ast.walk(node.target) if isinstance(n, ast.Name))
    return read - assigned - set(dir(builtins))


@pytest.mark.parametrize("vpn", KNOWN_VPNS)
def test_vpn_test_script_is_valid_python(vpn: str) -> None:
    script = vpn_script(vpn)
    tree = ast.parse(script, filename=f"vm-{vpn}")
    assert free_names(tree) <= DRIVER_SYMBOLS, free_names(tree) - DRIVER_SYMBOLS
    assert "every node pings every other node over the overlay" in script
    assert "iperf3 -c" in script


def test_static_addresses_are_baked_in() -> None:
    script = vpn_script("wireguard")
    assert "10.44.0.1" in script and "10.44.0.3" in script


def test_runtime_setup_is_inside_the_bring_up_subtest() -> None:
    tree = ast.parse(vpn_script("zerotier"))
    subtests = [node for node in ast.walk(tree) if isinstance(node, ast.With)]
    first = ast.unparse(subtests[0])
    assert "vpb-zerotier create-network" in first and "vpb-zerotier wait" in first


def test_netem_test_script_is_valid_python() -> None:
    script = render(f"import {nix_path(REPO / 'nix' / 'tests' / 'netem.nix')} "
                    f"{{ pkgs = {STUB_PKGS}; self = {STUB_SELF}; }}")
    tree = ast.parse(script, filename="vm-netem")
    assert free_names(tree) <= DRIVER_SYMBOLS
    assert "netem delay 50ms" in script


def test_bench_vm_script_runs_the_harness_on_the_vm_backend() -> None:
    script = bench_vm_script()
    tree = ast.parse(script, filename="bench-vm")
    assert free_names(tree) <= DRIVER_SYMBOLS, free_names(tree) - DRIVER_SYMBOLS
    assert '"run", "--backend", "vm"' in script and "attach_machines(" in script
    assert f"sys.path.insert(0, {json.dumps(str(REPO))})" in script
    assert "VPN_BENCH_VM_ARGS_FILE" in script and '\\"192.168.1.3\\"' in script


def test_bench_vm_app_hands_every_argument_to_the_test_script(tmp_path: Path) -> None:
    """The app's wrapper (nix/apps.nix), rendered by Nix and run with bash in front of a
    stand-in driver that parses the arguments file as the test script does."""
    driver = tmp_path / "driver"
    (driver / "bin").mkdir(parents=True)
    (driver / "bin" / "nixos-test-driver").write_text(
        "#!/bin/sh\nexec python3 -c 'import json, os; print(json.dumps(open(os.environ["
        "\"VPN_BENCH_VM_ARGS_FILE\"], \"rb\").read().decode().split(\"\\0\")[:-1]))'\n")
    (driver / "bin" / "nixos-test-driver").chmod(0o755)
    program: str = nix_eval(
        f"(import {nix_path(REPO / 'nix' / 'apps.nix')} {{ packages = {{ }}; "
        f"pkgs = {{ writeShellApplication = app: app.text; coreutils = null; }}; "
        f"benchVm = {{ driver = {json.dumps(str(driver))}; }}; }}).bench-vm.program")
    script = tmp_path / "vpn-bench-vm"
    script.write_text(program.removesuffix("/bin/vpn-bench-vm"))
    args = ["--vpn", "wireguard,nebula", "--param", "udp.bitrate_mbps=200", "two words", ""]
    for given in (args, []):
        done = subprocess.run(["bash", str(script), *given], capture_output=True, text=True,
                              timeout=30, check=False)
        assert done.returncode == 0, done.stderr
        assert json.loads(done.stdout) == given
