# Options every vpn-bench module reads: which host this is, where vpn-configs/ and the site
# directory are, and where private key material lives on the host. Imported by every other
# module (the module system de-duplicates imports by path), so each module also works alone.
{
  config,
  lib,
  ...
}:
let
  vpb = import ./lib;
  cfg = config.vpnBench;
in
{
  options.vpnBench = {
    host = lib.mkOption {
      type = lib.types.str;
      default = config.networking.hostName;
      defaultText = lib.literalExpression "config.networking.hostName";
      description = "Name of this host in vpn-configs/testbed.toml (selects its addresses and roles).";
    };

    configDir = lib.mkOption {
      type = lib.types.path;
      default = ../vpn-configs;
      defaultText = lib.literalExpression "<vpn-bench>/vpn-configs";
      description = ''
        The vpn-configs directory: the single source of truth for hosts, interfaces, MTUs,
        ports and address plans, shared with the Python harness.
      '';
    };

    site = lib.mkOption {
      type = lib.types.path;
      description = ''
        The site directory (layout: docs/site-template): site.toml with the hosts'
        underlay addresses, hosts/<host>.nix, and public/<vpn>/ with the public keys and
        certificates made by `vpn-bench keys`. Public material only: it is read at
        evaluation time and ends up in the Nix store.
      '';
    };

    secretsDir = lib.mkOption {
      type = lib.types.str;
      default = vpb.secrets.secretsDir;
      readOnly = true;
      description = ''
        Root-only directory on the host with the private key material, one subdirectory per
        VPN (see docs/secrets.md). Never part of the Nix store.
      '';
    };

    vpns = lib.genAttrs vpb.vpnConfigs.knownVpns (name: {
      enable = lib.mkEnableOption "the ${name} benchmark setup on this host (at most one VPN per configuration)";
    });

    active = lib.mkOption {
      type = lib.types.nullOr (lib.types.enum vpb.vpnConfigs.knownVpns);
      readOnly = true;
      description = "The VPN this configuration runs: the one with vpnBench.vpns.<name>.enable, or null.";
    };

    modulesLoaded = lib.mkOption {
      type = lib.types.listOf lib.types.str;
      default = [ ];
      internal = true;
      description = "Names of the VPN modules imported into this configuration.";
    };

    configs = lib.mkOption {
      type = lib.types.raw;
      readOnly = true;
      internal = true;
      description = "vpn-configs as loaded by modules/lib (for the other modules).";
    };

    siteData = lib.mkOption {
      type = lib.types.raw;
      readOnly = true;
      internal = true;
      description = "The site directory as loaded by modules/lib (for the other modules).";
    };

    plan = lib.mkOption {
      type = lib.types.functionTo lib.types.raw;
      readOnly = true;
      internal = true;
      description = "plan <vpn>: this host's plan for a VPN, computed by modules/lib/plans.nix.";
    };
  };

  config.vpnBench = {
    active =
      let
        enabled = builtins.filter (name: cfg.vpns.${name}.enable) vpb.vpnConfigs.knownVpns;
      in
      if enabled == [ ] then null else builtins.head enabled;
    configs = vpb.vpnConfigs.load cfg.configDir;
    siteData = vpb.site.load cfg.site;
    plan = vpn: vpb.plans.plan cfg.configs cfg.siteData vpn cfg.host;
  };
}
