# tinc 1.1pre18 (tinc_pre, vpn-configs/versions.toml) in router mode. Every
# host connects to the coordinator; host files carry each host's underlay address, overlay
# /32 subnet and RSA public key. The interface address is set by tinc-up. The private key is
# a symlink to the secrets directory; tincd reads it as root before dropping privileges.
{
  config,
  lib,
  pkgs,
  ...
}:
let
  cfg = config.vpnBench;
  plan = cfg.plan "tinc";
  unit = "tinc.${plan.netname}.service";
  tincUp = pkgs.writeShellScript "tinc-up-${plan.netname}" ''
    ${pkgs.iproute2}/bin/ip link set dev "$INTERFACE" ${
      lib.optionalString (plan.mtu != null) "mtu ${toString plan.mtu} "
    }up
    ${pkgs.iproute2}/bin/ip address add ${plan.cidr} dev "$INTERFACE"
  '';
in
{
  imports = [
    ../options.nix
    ../common.nix
  ];

  config = lib.mkMerge [
    { vpnBench.modulesLoaded = [ "tinc" ]; }
    (lib.mkIf cfg.vpns.tinc.enable (
      lib.mkMerge [
        {
          services.tinc.networks.${plan.netname} = {
            package = pkgs.tinc_pre; # 1.1pre18 (vpn-configs/versions.toml), the module's default
            name = plan.host;
            interfaceType = "tun";
            settings = {
              Interface = plan.interface;
              Mode = plan.mode;
              Cipher = plan.cipher;
              Digest = plan.digest;
              ConnectTo = plan.connectTo;
              Port = plan.listenPort;
            };
            hostSettings = lib.mapAttrs (_host: h: {
              addresses = [
                {
                  inherit (h) address;
                  port = h.port;
                }
              ];
              subnets = [ { address = h.subnet; } ];
              inherit (h) rsaPublicKey;
            }) plan.hostFiles;
          };
          environment.etc."tinc/${plan.netname}/tinc-up".source = tincUp;
          # The key sits where tincd looks by default. Not via rsaPrivateKeyFile: the module's
          # preStart generates an RSA key whenever /etc/tinc/<net>/rsa_key.priv is absent,
          # and that would append a fresh key to the configured PrivateKeyFile. The host files
          # carry RSA keys only, so tinc 1.1 speaks its legacy protocol here (the local
          # adapter gives Ed25519 keys too, hence SPTPS): see docs/nix.md.
          environment.etc."tinc/${plan.netname}/rsa_key.priv".source = plan.privateKeyFile;
          networking.firewall = plan.firewall // {
            trustedInterfaces = [ plan.interface ];
          };
        }
        (import ./check-secrets.nix {
          inherit lib unit;
          inherit (cfg) secretsDir;
          vpn = "tinc";
          files = [ "rsa_key.priv" ];
        })
      ]
    ))
  ];
}
