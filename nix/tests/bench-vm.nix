# The vm backend: lom, yuki and luna as NixOS test-driver VMs with the common module and every
# VPN specialisation, and the harness running *inside* the driver's Python, where it drives the
# VMs through their Machine objects (harness/testbed/vm.py, harness/hosts/vm.py).
#
#   nix run .#bench-vm -- --vpn wireguard,nebula --test tcp,ping --duration 10
#
# runs `vpn-bench run --backend vm <options>` (records under ./results, as usual); the app
# passes the options to the driver in a NUL-separated file (VPN_BENCH_VM_ARGS_FILE), because
# the driver's own command line takes no extra arguments. `checks.<system>.bench-vm` runs a
# short plan in the build sandbox and keeps its records in $out/results.
#
# VM figures are not hardware figures: the run records backend "vm" and the report says so.
{
  pkgs,
  self,
  packages,
}:
let
  inherit (pkgs) lib;
  vpb = import ../../modules/lib;
  configs = vpb.vpnConfigs.load ../../vpn-configs;
  site = ./fixtures/site;
  siteData = vpb.site.load site;
  hosts = configs.testbed.hosts;
  underlay = builtins.listToAttrs (
    map (host: {
      name = host;
      value = vpb.site.address siteData host;
    }) hosts
  );
  # The test driver gives every node eth1 on VLAN 1 (nix/tests/fixtures/site/site.toml).
  lanInterface = "eth1";

  # The harness (and the parts of analysis its CLI imports lazily) as plain source on the
  # driver's sys.path; its third-party imports come from extraPythonPackages.
  source = lib.fileset.toSource {
    root = ../..;
    fileset = lib.fileset.unions [
      ../../harness
      ../../analysis
      ../../vpn-configs
    ];
  };

  # The plan of `checks.<system>.bench-vm`: one VPN besides internal, short tests.
  checkArgs = [
    "--vpn"
    "wireguard"
    "--test"
    "ping,tcp"
    "--duration"
    "3"
    "--param"
    "ping.count=5"
  ];
in
pkgs.testers.runNixOSTest {
  name = "vpn-bench-vm";

  # modules/common.nix sets nixpkgs.overlays, which read-only node pkgs refuse
  # (./node-nixpkgs.nix).
  node.pkgsReadOnly = false;

  # Imported by the test script; typer, rich and pydantic are its only third-party imports.
  extraPythonPackages =
    p: with p; [
      pydantic
      typer
      rich
    ];
  # The driver's mypy sees the script without the harness's source on its path.
  skipTypeCheck = true;
  # A full plan takes hours; the driver's default global timeout is one hour.
  globalTimeout = 24 * 3600;

  defaults = {
    imports = [
      self.nixosModules.default
      ./keys.nix
      ./node-nixpkgs.nix
      # vpncloud (started by the harness here) needs a default route.
      ./default-route.nix
    ];
    vpnBench = {
      inherit site;
      specialisations.enable = true;
      # Every VPN daemon and workload tool on PATH: the harness's adapters start the
      # daemons themselves, as on the other backends.
      extraPackages = [ packages.vpn-bench-tools ];
    };
    # The driver's VLAN is private to the test; the adapters use their own ports.
    networking.firewall.enable = false;
    virtualisation = {
      memorySize = 2048;
      cores = 2;
    };
    documentation.enable = false;
  };

  nodes = builtins.listToAttrs (
    map (host: {
      name = host;
      value = { };
    }) hosts
  );

  testScript = ''
    import json
    import os
    import sys
    from pathlib import Path

    sys.path.insert(0, ${builtins.toJSON "${source}"})
    os.environ.setdefault("VPN_BENCH_CONFIG_DIR", ${builtins.toJSON "${source}/vpn-configs"})

    from harness.cli.app import main as vpn_bench
    from harness.testbed.vm import attach_machines

    machines = {${builtins.concatStringsSep ", " (map (h: "\"${h}\": ${h}") hosts)}}
    underlay = json.loads(${builtins.toJSON (builtins.toJSON underlay)})
    args_file = os.environ.get("VPN_BENCH_VM_ARGS_FILE")
    if args_file:
        args = Path(args_file).read_bytes().decode().split("\0")[:-1]
    else:
        args = json.loads(${builtins.toJSON (builtins.toJSON checkArgs)})
        if "out" in os.environ:  # the check, in the build sandbox
            args += ["--out", os.environ["out"] + "/results"]

    start_all()
    for machine in machines.values():
        machine.wait_for_unit("multi-user.target", timeout=900)
    attach_machines(machines, underlay, ${builtins.toJSON lanInterface})

    sys.argv = ["vpn-bench", "run", "--backend", "vm", *args]
    try:
        vpn_bench()
        code = 0
    except SystemExit as stop:
        code = stop.code if isinstance(stop.code, int) else (0 if stop.code is None else 1)
    if code != 0:
        raise Exception(f"vpn-bench run --backend vm exited with status {code}")
  '';
}
