# What every benchmark host runs whatever the VPN: the workload tools and servers, netem,
# optional reorder-tolerant TCP settings, the binary cache served for the nix-cache workload,
# the harness's SSH access, and the checks of vpn-configs and the site (as assertions).
{
  config,
  options,
  lib,
  pkgs,
  ...
}:
let
  vpb = import ./lib;
  cfg = config.vpnBench;
  inherit (vpb.vpnConfigs) knownVpns;

  enabledVpns = builtins.filter (name: cfg.vpns.${name}.enable) knownVpns;
  configProblems = cfg.configs.problems;
  siteProblems = if configProblems == [ ] then vpb.site.problems cfg.siteData cfg.configs else [ ];
  testbedHosts = cfg.configs.testbed.hosts or [ ];
  missingPublic =
    if cfg.active == null || configProblems != [ ] then
      [ ]
    else
      vpb.site.missingPublic cfg.siteData testbedHosts cfg.active;

  cacheKey = "${cfg.secretsDir}/harmonia/cache.key";
  # services.harmonia has had three shapes in nixpkgs: `signKeyPath` (older), flat
  # `{enable,signKeyPaths}` (the 25.11 line, as far as could be read here; see docs/nix.md),
  # and `cache.{enable,signKeyPaths}` (newer, keeping the flat names only as rename shims that
  # warn). The shape is taken from the options the evaluating nixpkgs declares, so the pinned
  # revision gets its own form and a newer pin no deprecation warning. (Reading `options`,
  # not `config`, cannot recurse.)
  harmoniaOptions = options.services.harmonia or { };
  harmonia =
    if harmoniaOptions ? cache then
      {
        cache = {
          enable = true;
          signKeyPaths = [ cacheKey ];
        };
      }
    else if harmoniaOptions ? signKeyPaths then
      {
        enable = true;
        signKeyPaths = [ cacheKey ];
      }
    else
      {
        enable = true;
        signKeyPath = cacheKey;
      };
  cachePublicKey = "/var/lib/vpn-bench/harmonia-cache.pub";
in
{
  imports = [ ./options.nix ];

  options.vpnBench = {
    extraPackages = lib.mkOption {
      type = lib.types.listOf lib.types.package;
      default = [ ];
      description = "More tools to install on every benchmark host.";
    };

    workloadPorts = {
      tcp = lib.mkOption {
        type = lib.types.listOf lib.types.port;
        default = [
          5000 # harmonia (nix-cache workload)
          5201 # iperf3
        ];
        description = "Underlay TCP ports the workloads use (overlay interfaces are trusted anyway).";
      };
      udp = lib.mkOption {
        type = lib.types.listOf lib.types.port;
        default = [ 5201 ];
        description = "Underlay UDP ports the workloads use (iperf3 -u).";
      };
    };

    tcp.reorderTolerant = lib.mkEnableOption ''
      TCP settings that tolerate more reordering before assuming loss (netem jitter larger
      than the delay reorders packets heavily; see the methodology notes)
    '';

    tcp.reorderSysctls = lib.mkOption {
      type = lib.types.attrsOf (lib.types.either lib.types.int lib.types.str);
      default = {
        "net.ipv4.tcp_reordering" = 127;
        "net.ipv4.tcp_max_reordering" = 300;
        "net.ipv4.tcp_early_retrans" = 0;
        "net.ipv4.tcp_sack" = 1;
        "net.ipv4.tcp_dsack" = 1;
      };
      description = "The sysctls applied when vpnBench.tcp.reorderTolerant is on.";
    };

    binaryCache.enable = lib.mkOption {
      type = lib.types.bool;
      default = true;
      description = ''
        Serve this host's Nix store with harmonia on TCP 5000 (the nix-cache workload). Its
        signing key is generated on the host at first start (${cacheKey}).
      '';
    };
  };

  config = {
    # The VPN daemons at the versions of vpn-configs/versions.toml (nix/packages/versions.nix).
    nixpkgs.overlays = [ (import ../nix/packages/versions.nix) ];

    assertions =
      map (message: {
        assertion = false;
        message = "vpn-bench: ${message}";
      }) (configProblems ++ siteProblems)
      ++ [
        {
          assertion = configProblems != [ ] || builtins.elem cfg.host testbedHosts;
          message = "vpn-bench: host '${cfg.host}' is not in vpn-configs/testbed.toml (valid: ${builtins.concatStringsSep ", " testbedHosts}); set vpnBench.host or networking.hostName";
        }
        {
          assertion = builtins.length enabledVpns <= 1;
          message = "vpn-bench: one VPN per configuration, but vpnBench.vpns.{${builtins.concatStringsSep "," enabledVpns}}.enable are all set; use one specialisation per VPN";
        }
        {
          assertion = cfg.active == null || builtins.elem cfg.active cfg.modulesLoaded;
          message = "vpn-bench: vpnBench.vpns.${toString cfg.active}.enable is set but nixosModules.${toString cfg.active} is not imported (or import nixosModules.default)";
        }
        {
          assertion = cfg.active == null || configProblems != [ ] || cfg.configs.vpns ? ${cfg.active};
          message = "vpn-bench: ${toString cfg.active} is enabled but vpn-configs/vpns/${toString cfg.active}.toml does not exist";
        }
        {
          assertion = missingPublic == [ ];
          message = "vpn-bench: the site ${toString cfg.site} lacks public material for ${toString cfg.active}: ${builtins.concatStringsSep ", " missingPublic}; run `vpn-bench keys` (layout: docs/secrets.md)";
        }
      ];

    environment.systemPackages =
      (with pkgs; [
        iperf3
        iputils
        iproute2
        ethtool
        util-linux
        tcpdump
        jq
        procps
        ffmpeg-headless # RIST input/output (withRist follows withHeadlessDeps)
        librist # ristsender / ristreceiver
        hyperfine
      ])
      ++ cfg.extraPackages;

    # iperf3 server; the module opens TCP only, so UDP is in workloadPorts.udp.
    services.iperf3 = {
      enable = true;
      openFirewall = true;
    };

    networking.firewall.allowedTCPPorts = cfg.workloadPorts.tcp;
    networking.firewall.allowedUDPPorts = cfg.workloadPorts.udp;

    # netem for the impairment profiles; ifb to impair ingress as well.
    boot.kernelModules = [
      "sch_netem"
      "ifb"
    ];

    boot.kernel.sysctl = lib.mkIf cfg.tcp.reorderTolerant cfg.tcp.reorderSysctls;

    services.openssh.enable = lib.mkDefault true;
    users.users.root.openssh.authorizedKeys.keys = cfg.siteData.sshAuthorizedKeys;

    systemd.tmpfiles.rules = [
      "d /var/lib/vpn-bench 0755 root root - -"
      "d ${cfg.secretsDir} 0700 root root - -"
    ];

    # What the harness reads back over SSH: which VPN runs here and its plan (public data).
    environment.etc."vpn-bench/host.json".text = builtins.toJSON {
      inherit (cfg) host active secretsDir;
      plan = if cfg.active == null then null else cfg.plan cfg.active;
    };

    services.harmonia = lib.mkIf cfg.binaryCache.enable harmonia;

    systemd.services.vpn-bench-harmonia-key = lib.mkIf cfg.binaryCache.enable {
      description = "Generate the harmonia signing key of this host once";
      before = [ "harmonia.service" ];
      requiredBy = [ "harmonia.service" ];
      unitConfig.ConditionPathExists = "!${cacheKey}";
      path = [ config.nix.package ];
      serviceConfig = {
        Type = "oneshot";
        RemainAfterExit = true;
        UMask = "0077";
      };
      script = ''
        install -d -m 0700 ${dirOf cacheKey}
        nix-store --generate-binary-cache-key "vpn-bench-${cfg.host}-1" ${cacheKey}.tmp ${cachePublicKey}
        mv ${cacheKey}.tmp ${cacheKey}
        chmod 0644 ${cachePublicKey}
      '';
    };
  };
}
