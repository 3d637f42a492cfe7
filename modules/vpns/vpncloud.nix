# VpnCloud: no nixpkgs package or module, so both live here. Full mesh of static peers;
# every host's public key (its own included) is trusted. The private key is passed through
# the environment (PRIVATE_KEY), not the command line, so it does not show up in ps.
# The argument vector was run here between two network namespaces with the VM-test keys
# (ping over the overlay worked). vpncloud needs a default route: it panics in net::get_ip
# ("Network is unreachable") without one.
{
  config,
  lib,
  pkgs,
  ...
}:
let
  cfg = config.vpnBench;
  plan = cfg.plan "vpncloud";
  unit = "vpncloud.service";
  package = cfg.packages.vpncloud;
  ip = "${pkgs.iproute2}/bin/ip";
  # Not `--ip`: vpncloud 2.3.0 built with current Rust puts a garbled address on the device
  # (seen here: 0.1.0.0/8 for 10.47.0.1/24) and auto-claims 0.0.0.1/32, so the address is set
  # by the ifup hook and the claim is explicit.
  args = [
    "--type"
    "tun"
    "--device"
    plan.interface
    "--ifup"
    "${ip} address add ${plan.cidr} dev $IFNAME && ${ip} link set $IFNAME ${
      lib.optionalString (plan.mtu != null) "mtu ${toString plan.mtu} "
    }up"
    "--claim"
    "${plan.address}/32"
    "--no-auto-claim"
    "--listen"
    (toString plan.listenPort)
    "--no-port-forwarding"
  ]
  ++ lib.concatMap (peer: [
    "--peer"
    peer
  ]) plan.peers
  ++ lib.concatMap (key: [
    "--trusted-key"
    key
  ]) plan.trustedKeys;
in
{
  imports = [
    ../options.nix
    ../common.nix
  ];

  options.vpnBench.packages.vpncloud = lib.mkOption {
    type = lib.types.package;
    default = pkgs.callPackage ../../nix/packages/vpncloud.nix { };
    defaultText = lib.literalExpression "pkgs.callPackage <vpn-bench>/nix/packages/vpncloud.nix { }";
    description = "The VpnCloud package (not in nixpkgs; packaged by this flake).";
  };

  config = lib.mkMerge [
    { vpnBench.modulesLoaded = [ "vpncloud" ]; }
    (lib.mkIf cfg.vpns.vpncloud.enable (
      lib.mkMerge [
        {
          environment.systemPackages = [ package ];
          systemd.services.vpncloud = {
            description = "VpnCloud mesh VPN (vpn-bench)";
            after = [ "network-online.target" ];
            wants = [ "network-online.target" ];
            wantedBy = [ "multi-user.target" ];
            path = [ pkgs.iproute2 ];
            script = ''
              PRIVATE_KEY="$(cat ${lib.escapeShellArg plan.privateKeyFile})"
              export PRIVATE_KEY
              exec ${lib.getExe package} ${lib.escapeShellArgs args}
            '';
            serviceConfig = {
              Restart = "always";
              RestartSec = 2;
            };
          };
          networking.firewall = plan.firewall // {
            trustedInterfaces = [ plan.interface ];
          };
        }
        (import ./check-secrets.nix {
          inherit lib unit;
          inherit (cfg) secretsDir;
          vpn = "vpncloud";
          files = [ "private.key" ];
        })
      ]
    ))
  ];
}
