# Headscale on the coordinator (plain HTTP on its underlay address, no MagicDNS) and the
# Tailscale client on every host.
#
# DERP, offline: an explicit DERP map with exactly one region, Headscale's embedded relay
# (region 999, `automatically_add_embedded_derp_region` set, no DERP map URLs, so nothing of
# Tailscale's is fetched), served over plain HTTP on the control port, and every tailscaled
# told to speak plain HTTP to DERP (TS_DEBUG_USE_DERP_HTTP=1: Headscale advertises the node
# without a plain-HTTP marker, so tailscaled would otherwise try TLS, never reach the relay, and
# lose the first packets until direct paths form). Data goes over direct paths on the LAN; the
# relay only carries what passes before they are up. The same arrangement as the harness's
# adapter (harness/vpns/headscale.py), which runs it offline; no certificate is involved.
# The coordinator creates the user and a reusable pre-auth key at start and writes it to
# <secretsDir>/headscale/authkey; the harness copies that file to the other hosts, where a
# path unit notices it and runs `tailscale up`. The coordinator joins the same way.
{
  config,
  lib,
  pkgs,
  ...
}:
let
  cfg = config.vpnBench;
  plan = cfg.plan "headscale";
  headscale = lib.getExe config.services.headscale.package;
  tailscale = lib.getExe config.services.tailscale.package;
  jq = lib.getExe pkgs.jq;
in
{
  imports = [
    ../options.nix
    ../common.nix
  ];

  config = lib.mkMerge [
    { vpnBench.modulesLoaded = [ "headscale" ]; }
    (lib.mkIf cfg.vpns.headscale.enable (
      lib.mkMerge [
        {
          services.tailscale = {
            enable = true;
            port = plan.listenPort;
            interfaceName = plan.interface;
            openFirewall = true;
          };

          # See the top: the embedded DERP relay is plain HTTP.
          systemd.services.tailscaled.environment.TS_DEBUG_USE_DERP_HTTP = "1";

          systemd.paths.vpn-bench-tailscale-join = {
            description = "Join the Headscale tailnet once the pre-auth key is present";
            wantedBy = [ "multi-user.target" ];
            pathConfig.PathExists = plan.authKeyFile;
          };
          systemd.services.vpn-bench-tailscale-join = {
            description = "Join the Headscale tailnet (vpn-bench)";
            after = [ "tailscaled.service" ];
            requires = [ "tailscaled.service" ];
            serviceConfig = {
              Type = "oneshot";
              RemainAfterExit = true;
            };
            script = ''
              for _ in $(seq 1 60); do
                if ${tailscale} up \
                    --login-server=${lib.escapeShellArg plan.serverUrl} \
                    --auth-key="$(cat ${lib.escapeShellArg plan.authKeyFile})" \
                    --hostname=${lib.escapeShellArg plan.host} \
                    --accept-dns=false --timeout=20s; then
                  exit 0
                fi
                sleep 2
              done
              echo "vpn-bench: tailscale up against ${plan.serverUrl} kept failing" >&2
              exit 1
            '';
          };
          networking.firewall = plan.firewall // {
            trustedInterfaces = [ plan.interface ];
          };
        }
        (lib.mkIf plan.isCoordinator {
          services.headscale = {
            enable = true;
            address = "0.0.0.0";
            port = plan.controlPort;
            settings = {
              server_url = plan.serverUrl;
              prefixes.v4 = plan.subnet;
              derp = {
                urls = [ ];
                auto_update_enabled = false;
                server = {
                  enabled = true;
                  region_id = 999;
                  region_code = "vpn-bench";
                  region_name = "vpn-bench embedded DERP";
                  stun_listen_addr = "0.0.0.0:${toString plan.stunPort}";
                  # The DERP map is this one region (set, not left to the default).
                  automatically_add_embedded_derp_region = true;
                };
              };
              dns = {
                magic_dns = false;
                override_local_dns = false;
              };
              logtail.enabled = false;
            };
          };

          systemd.services.vpn-bench-headscale-authkey = {
            description = "Create the vpn-bench Headscale user and a reusable pre-auth key";
            after = [ "headscale.service" ];
            requires = [ "headscale.service" ];
            wantedBy = [ "multi-user.target" ];
            unitConfig.ConditionPathExists = "!${plan.authKeyFile}";
            serviceConfig = {
              Type = "oneshot";
              RemainAfterExit = true;
              UMask = "0077";
            };
            script = ''
              for _ in $(seq 1 60); do
                ${headscale} users list >/dev/null 2>&1 && break
                sleep 1
              done
              ${headscale} users create ${plan.user} >/dev/null 2>&1 || true
              id="$(${headscale} users list -o json | ${jq} -r '.[] | select(.name == "${plan.user}") | .id')"
              # Newer headscale takes the numeric user ID after -u, older releases the name.
              key="$(${headscale} preauthkeys -u "$id" create --reusable --expiration 8760h -o json 2>/dev/null \
                || ${headscale} preauthkeys -u ${plan.user} create --reusable --expiration 8760h -o json)"
              key="$(printf '%s' "$key" | ${jq} -r .key)"
              [ -n "$key" ] && [ "$key" != null ] || { echo "vpn-bench: headscale returned no pre-auth key" >&2; exit 1; }
              install -d -m 0700 ${dirOf plan.authKeyFile}
              printf '%s\n' "$key" > ${plan.authKeyFile}.tmp
              mv ${plan.authKeyFile}.tmp ${plan.authKeyFile}
            '';
          };
        })
      ]
    ))
  ];
}
