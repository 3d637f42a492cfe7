# Per-VPN, per-host plans: everything a VPN module needs (addresses, peers, ports, roles,
# public keys, secret paths) computed from vpn-configs and the site as plain data. The NixOS
# modules only map a plan onto options, so the interesting logic is evaluated (and tested)
# purely, without nixpkgs.
let
  ip = import ./ip.nix;
  vc = import ./vpnConfigs.nix;
  siteLib = import ./site.nix;
  secrets = import ./secrets.nix;
  inherit (builtins) filter listToAttrs;

  mapToAttrs = f: names: listToAttrs (map (n: { name = n; value = f n; }) names);

  common =
    configs: site: vpn: host:
    let
      hosts = vc.hosts configs;
      coordinator = vc.coordinator configs vpn;
      mode = vc.addressingMode configs vpn;
    in
    rec {
      inherit
        vpn
        host
        hosts
        coordinator
        mode
        ;
      others = filter (h: h != host) hosts;
      isCoordinator = host == coordinator;
      interface = vc.interface configs vpn;
      mtu = vc.mtu configs vpn;
      firewall = vc.firewall configs vpn;
      underlay = siteLib.address site host;
      subnet = (vc.vpn configs vpn).addressing.subnet or null;
      prefixLength = if subnet == null then null else ip.prefixLength subnet;
      address = if mode == "static" then vc.staticAddress configs vpn host else null;
      addressOf = h: vc.staticAddress configs vpn h;
      cidr = if address == null then null else "${address}/${toString prefixLength}";
      listenPort = vc.port configs vpn "listen";
      endpointOf = h: siteLib.endpoint site h listenPort;
      secret = file: secrets.privatePath vpn file;
      publicOf = file: siteLib.readPublic site vpn file;
    };

  plans = {
    internal =
      configs: site: host:
      let
        c = common configs site "internal" host;
      in
      {
        inherit (c) host hosts underlay;
        firewall = c.firewall;
      };

    wireguard =
      configs: site: host:
      let
        c = common configs site "wireguard" host;
      in
      {
        inherit (c)
          host
          interface
          mtu
          listenPort
          address
          prefixLength
          cidr
          firewall
          ;
        privateKeyFile = c.secret "private.key";
        peers = map (p: {
          host = p;
          publicKey = c.publicOf "${p}.pub";
          endpoint = c.endpointOf p;
          allowedIPs = [ "${c.addressOf p}/32" ];
        }) c.others;
      };

    nebula =
      configs: site: host:
      let
        c = common configs site "nebula" host;
        network = vc.option configs "nebula" "network" "vpb";
      in
      {
        inherit (c)
          host
          interface
          mtu
          listenPort
          address
          prefixLength
          cidr
          firewall
          isCoordinator
          ;
        inherit network;
        # Runtime knobs shared with the harness adapter (vpn-configs/vpns/nebula.toml [options]).
        punch = vc.option configs "nebula" "punch" false;
        lighthouseInterval = vc.option configs "nebula" "lighthouse_interval" 10;
        listenHost = vc.option configs "nebula" "listen_host" "0.0.0.0";
        ca = siteLib.publicPath site "nebula" "ca.crt";
        cert = siteLib.publicPath site "nebula" "${host}.crt";
        keyFile = c.secret "host.key";
        isLighthouse = c.isCoordinator;
        lighthouses = if c.isCoordinator then [ ] else [ (c.addressOf c.coordinator) ];
        # Every peer's underlay endpoint is known, so tunnels go direct from the start.
        staticHostMap = listToAttrs (
          map (p: {
            name = c.addressOf p;
            value = [ (c.endpointOf p) ];
          }) c.others
        );
      };

    tinc =
      configs: site: host:
      let
        c = common configs site "tinc" host;
      in
      {
        inherit (c)
          host
          interface
          mtu
          listenPort
          address
          prefixLength
          cidr
          firewall
          isCoordinator
          ;
        netname = vc.option configs "tinc" "netname" "vpb";
        mode = vc.option configs "tinc" "mode" "router";
        # The data path the harness benchmarks (tinc 1.0's default is blowfish/SHA-1).
        cipher = vc.option configs "tinc" "cipher" "aes-256-cbc";
        digest = vc.option configs "tinc" "digest" "sha256";
        privateKeyFile = c.secret "rsa_key.priv";
        connectTo = if c.isCoordinator then [ ] else [ c.coordinator ];
        hostFiles = mapToAttrs (h: {
          address = siteLib.address site h;
          port = c.listenPort;
          subnet = "${c.addressOf h}/32";
          rsaPublicKey = c.publicOf "${h}.pub";
        }) c.hosts;
      };

    vpncloud =
      configs: site: host:
      let
        c = common configs site "vpncloud" host;
      in
      {
        inherit (c)
          host
          interface
          mtu
          listenPort
          address
          prefixLength
          cidr
          firewall
          ;
        privateKeyFile = c.secret "private.key";
        publicKey = c.publicOf "${host}.pub";
        peers = map c.endpointOf c.others;
        trustedKeys = map (h: c.publicOf "${h}.pub") c.hosts;
      };

    hyprspace =
      configs: site: host:
      let
        c = common configs site "hyprspace" host;
      in
      {
        inherit (c)
          host
          interface
          listenPort
          subnet
          firewall
          ;
        lanInterface = siteLib.lanInterface site host;
        privateKeyFile = c.secret "private.key";
        listenAddresses = [
          "/ip4/0.0.0.0/tcp/${toString c.listenPort}"
          "/ip4/0.0.0.0/udp/${toString c.listenPort}/quic-v1"
        ];
        peers = map (p: {
          id = c.publicOf "${p}.id";
          name = p;
        }) c.others;
        # Offline discovery (as the adapter): mDNS on the LAN, and every host but the
        # coordinator bootstraps from the coordinator's TCP listener. Always set: left out,
        # hyprspace falls back to upstream's public bootstrap nodes.
        bootstrapPeers =
          if c.isCoordinator then
            [ ]
          else
            let
              a = siteLib.address site c.coordinator;
              proto = if builtins.match ".*:.*" a != null then "ip6" else "ip4";
            in
            [ "/${proto}/${a}/tcp/${toString c.listenPort}/p2p/${c.publicOf "${c.coordinator}.id"}" ];
      };

    easytier =
      configs: site: host:
      let
        c = common configs site "easytier" host;
      in
      {
        inherit (c)
          host
          interface
          mtu
          listenPort
          address
          prefixLength
          cidr
          firewall
          isCoordinator
          ;
        instance = vc.option configs "easytier" "instance_name" "vpb";
        networkName = vc.option configs "easytier" "network_name" "vpn-bench";
        secretFile = c.secret "network.secret";
        listeners = [
          "tcp://0.0.0.0:${toString c.listenPort}"
          "udp://0.0.0.0:${toString c.listenPort}"
        ];
        peers = if c.isCoordinator then [ ] else [ "tcp://${c.endpointOf c.coordinator}" ];
      };

    mycelium =
      configs: site: host:
      let
        c = common configs site "mycelium" host;
      in
      {
        inherit (c)
          host
          interface
          listenPort
          subnet
          firewall
          ;
        peers = map (p: "tcp://${c.endpointOf p}") c.others;
      };

    yggdrasil =
      configs: site: host:
      let
        c = common configs site "yggdrasil" host;
      in
      {
        inherit (c)
          host
          interface
          mtu
          listenPort
          subnet
          firewall
          ;
        privateKeyFile = c.secret "private.key";
        nodeInfoPrivacy = vc.option configs "yggdrasil" "node_info_privacy" true;
        listen = [ "tcp://[::]:${toString c.listenPort}" ];
        peers = map (p: "tcp://${c.endpointOf p}") c.others;
      };

    zerotier =
      configs: site: host:
      let
        c = common configs site "zerotier" host;
      in
      {
        inherit (c)
          host
          interface
          listenPort
          address
          prefixLength
          cidr
          subnet
          firewall
          isCoordinator
          coordinator
          ;
        controllerUnderlay = siteLib.address site c.coordinator;
        # Network ID = controller node ID (10 hex digits, known only on the host) + this suffix.
        networkSuffix = "000001";
        members = mapToAttrs c.addressOf c.hosts;
      };

    headscale =
      configs: site: host:
      let
        c = common configs site "headscale" host;
        controlPort = vc.port configs "headscale" "control";
        server = siteLib.address site c.coordinator;
        serverHost = if builtins.match ".*:.*" server != null then "[${server}]" else server;
      in
      {
        inherit (c)
          host
          interface
          listenPort
          subnet
          firewall
          isCoordinator
          coordinator
          ;
        inherit controlPort;
        stunPort = vc.port configs "headscale" "stun";
        serverUrl = "http://${serverHost}:${toString controlPort}";
        user = "vpn-bench";
        authKeyFile = c.secret "authkey";
      };
  };

  plan =
    configs: site: vpn: host:
    (plans.${vpn} or (throw "no plan for VPN '${vpn}'")) configs site host;
in
{
  inherit plan;
  vpnsWithPlans = builtins.attrNames plans;
}
