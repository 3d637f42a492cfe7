# Hyprspace (libp2p): nixpkgs packages it but has no module, so the service is written here
# (the upstream flake's module is not used, to keep one nixpkgs pin). Every host lists every
# other host as a peer by peer ID; the overlay address is derived from the peer ID. The
# config with the private key is assembled at start in a root-only runtime directory.
# Offline, as the harness adapter: peers are found by mDNS on the LAN (on unless
# filterPrivateAddresses) and through the coordinator as the one bootstrap peer; the
# coordinator's bootstrap list is empty (never absent: the default is public nodes).
{
  config,
  lib,
  pkgs,
  ...
}:
let
  cfg = config.vpnBench;
  plan = cfg.plan "hyprspace";
  unit = "hyprspace.service";
  runConfig = "/run/hyprspace-vpn-bench/config.json";
  publicConfig = pkgs.writeText "hyprspace-public.json" (
    builtins.toJSON {
      inherit (plan) listenAddresses peers bootstrapPeers;
      services = { };
    }
  );
in
{
  imports = [
    ../options.nix
    ../common.nix
  ];

  config = lib.mkMerge [
    { vpnBench.modulesLoaded = [ "hyprspace" ]; }
    (lib.mkIf cfg.vpns.hyprspace.enable (
      lib.mkMerge [
        {
          environment.systemPackages = [ pkgs.hyprspace ];
          systemd.services.hyprspace = {
            description = "Hyprspace libp2p VPN (vpn-bench)";
            after = [ "network-online.target" ];
            wants = [ "network-online.target" ];
            wantedBy = [ "multi-user.target" ];
            path = [ pkgs.iproute2 ];
            preStart = ''
              ${lib.getExe pkgs.jq} --rawfile key ${lib.escapeShellArg plan.privateKeyFile} \
                '. + {privateKey: ($key | rtrimstr("\n"))}' ${publicConfig} \
                > ${runConfig}
            '';
            serviceConfig = {
              ExecStart = "${lib.getExe pkgs.hyprspace} up -c ${runConfig} -i ${plan.interface}";
              RuntimeDirectory = "hyprspace-vpn-bench";
              RuntimeDirectoryMode = "0700";
              UMask = "0077";
              Restart = "always";
              RestartSec = 2;
            };
          };
          # libp2p finds the peers on the LAN by itself (mDNS on UDP 5353, the upstream VM
          # test runs without a firewall), so the underlay interface is trusted while
          # hyprspace runs.
          networking.firewall = plan.firewall // {
            trustedInterfaces = [ plan.interface ] ++ lib.optional (plan.lanInterface != null) plan.lanInterface;
          };
        }
        (import ./check-secrets.nix {
          inherit lib unit;
          inherit (cfg) secretsDir;
          vpn = "hyprspace";
          files = [ "private.key" ];
        })
      ]
    ))
  ];
}
