# One NixOS VM test per VPN: lom, yuki and luna on one VLAN, the VPN from the flake's own
# module with the test site (nix/tests/fixtures/site), every node pings every other node over
# the overlay, and a short iperf3 over the overlay moves data.
{
  pkgs,
  self,
  vpn,
}:
let
  vpb = import ../../modules/lib;
  configs = vpb.vpnConfigs.load ../../vpn-configs;
  site = ./fixtures/site;
  siteData = vpb.site.load site;
  hosts = configs.testbed.hosts;
  plans = builtins.listToAttrs (
    map (host: {
      name = host;
      value = vpb.plans.plan configs siteData vpn host;
    }) hosts
  );
  mode = vpb.vpnConfigs.addressingMode configs vpn;
  interface = vpb.vpnConfigs.interface configs vpn;
  coordinator = vpb.vpnConfigs.coordinator configs vpn;

  # Addresses known before boot: static plans, and the underlay for "internal".
  knownAddresses = builtins.listToAttrs (
    map (host: {
      name = host;
      value =
        if mode == "static" then
          vpb.vpnConfigs.staticAddress configs vpn host
        else if mode == "underlay" then
          vpb.site.address siteData host
        else
          null;
    }) hosts
  );
  underlay = builtins.listToAttrs (
    map (host: {
      name = host;
      value = vpb.site.address siteData host;
    }) hosts
  );

  # Python run before the ping matrix, per VPN: bring-up steps that need run-time values.
  setup = {
    headscale = ''
      coordinator.wait_for_unit("vpn-bench-headscale-authkey.service", timeout=300)
      key = coordinator.succeed("cat ${plans.${coordinator}.authKeyFile}").strip()
      for name, machine in machines.items():
          if name != COORDINATOR:
              machine.succeed(
                  "install -d -m 0700 ${dirOf plans.${coordinator}.authKeyFile} && "
                  f"printf '%s\\n' '{key}' > ${plans.${coordinator}.authKeyFile}"
              )
      for machine in machines.values():
          # Started by a path unit once the key file exists: poll, wait_for_unit would give up
          # on a unit that is still inactive with no job queued.
          machine.wait_until_succeeds("systemctl is-active vpn-bench-tailscale-join.service", timeout=300)
      for name, machine in machines.items():
          addresses[name] = machine.succeed("tailscale ip -4").strip()
    '';
    zerotier = ''
      ids = {name: m.succeed("vpb-zerotier node-id").strip() for name, m in machines.items()}
      # The coordinator is the network's only root (a moon); the others load its moon file.
      moon = coordinator.succeed(f"vpb-zerotier make-moon {UNDERLAY[COORDINATOR]}").strip()
      for name, machine in machines.items():
          if name != COORDINATOR:
              machine.succeed(f"vpb-zerotier add-moon {moon}")
      network = coordinator.succeed("vpb-zerotier create-network").strip()
      for name, machine in machines.items():
          hints = " ".join(f"{ids[o]}@{UNDERLAY[o]}" for o in machines if o != name)
          machine.succeed(f"vpb-zerotier join {network} {hints}")
      for name in machines:
          coordinator.succeed(f"vpb-zerotier authorize {network} {ids[name]} {addresses[name]}")
      for machine in machines.values():
          machine.succeed(f"vpb-zerotier wait {network} 300")
    '';
  };

  # Derived addresses (from keys) are read from the interface once it is up.
  discover = {
    yggdrasil = "-6";
    mycelium = "-6";
    hyprspace = "-4";
  };
in
pkgs.testers.runNixOSTest {
  name = "vpn-bench-${vpn}";

  # modules/common.nix sets nixpkgs.overlays, which read-only node pkgs refuse
  # (./node-nixpkgs.nix).
  node.pkgsReadOnly = false;

  defaults = {
    imports = [
      self.nixosModules.default
      ./keys.nix
      ./node-nixpkgs.nix
    ]
    # vpncloud needs a default route, which the test network does not give.
    ++ pkgs.lib.optional (vpn == "vpncloud") ./default-route.nix;
    vpnBench = {
      inherit site;
      vpns.${vpn}.enable = true;
      binaryCache.enable = false;
    };
    virtualisation.memorySize = 1024;
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

    COORDINATOR = ${builtins.toJSON coordinator}
    UNDERLAY: dict[str, str] = json.loads(${builtins.toJSON (builtins.toJSON underlay)})
    machines = {${builtins.concatStringsSep ", " (map (h: "\"${h}\": ${h}") hosts)}}
    coordinator = machines[COORDINATOR]
    addresses: dict[str, str] = {
        name: address
        for name, address in json.loads(${builtins.toJSON (builtins.toJSON knownAddresses)}).items()
        if address is not None
    }

    start_all()
    for machine in machines.values():
        machine.wait_for_unit("multi-user.target", timeout=600)

    with subtest("${vpn} comes up"):
    ${
      pkgs.lib.concatMapStrings (line: "    " + line + "\n") (
        pkgs.lib.splitString "\n" (setup.${vpn} or "pass")
      )
    }
    ${pkgs.lib.optionalString (interface != null) ''
      for machine in machines.values():
          machine.wait_until_succeeds("ip link show dev ${interface}", timeout=300)
    ''}
    ${pkgs.lib.optionalString (discover ? ${vpn}) ''
      for name, machine in machines.items():
          addresses[name] = machine.wait_until_succeeds(
              "ip -o ${discover.${vpn}} address show dev ${interface} scope global"
              " | awk '{print $4}' | cut -d/ -f1 | head -n 1 | grep .",
              timeout=300,
          ).strip()
    ''}
    assert sorted(addresses) == sorted(machines), f"missing overlay addresses: {addresses}"
    print(f"overlay addresses: {addresses}")

    with subtest("every node pings every other node over the overlay"):
        for source, machine in machines.items():
            for target, address in addresses.items():
                if source != target:
                    machine.wait_until_succeeds(f"ping -c 1 -W 2 {address}", timeout=300)

    with subtest("a short iperf3 over the overlay moves data"):
        server, client = machines["${builtins.elemAt hosts 0}"], machines["${builtins.elemAt hosts 1}"]
        server.wait_for_unit("iperf3.service")
        report = json.loads(client.succeed(f"iperf3 -c {addresses['${builtins.elemAt hosts 0}']} -t 3 -J"))
        received = report["end"]["sum_received"]["bytes"]
        print(f"iperf3 over ${vpn}: {received} bytes, {report['end']['sum_received']['bits_per_second'] / 1e6:.1f} Mbit/s")
        assert received > 0, "iperf3 moved no data over the overlay"
  '';
}
