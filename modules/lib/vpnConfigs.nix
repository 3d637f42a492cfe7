# Reader for `vpn-configs/`, the single source of truth shared with the Python harness
# (`harness/settings/`). Pure Nix (builtins only) so CI evaluates it without nixpkgs and
# compares the results with what `harness.settings` computes from the same files.
#
# `load dir` never throws for bad content: it returns `problems` (messages naming the file,
# the field and the valid choices), which the NixOS modules turn into assertions.
let
  ip = import ./ip.nix;
  inherit (builtins)
    attrNames
    attrValues
    concatLists
    concatStringsSep
    elem
    filter
    fromTOML
    genList
    head
    isAttrs
    isBool
    isInt
    isList
    isString
    length
    listToAttrs
    match
    pathExists
    readDir
    readFile
    sort
    stringLength
    tryEval
    ;

  # Every VPN this flake has a NixOS module for: the files of modules/vpns/ (helpers aside).
  # Read from the directory so adding a VPN touches no list here; the harness registry
  # (harness/vpns/registry.py) must name the same VPNs (tests/nix/test_secrets_contract.py).
  moduleHelpers = [ "check-secrets.nix" ];
  knownVpns = map (file: head (match "(.*)\\.nix" file)) (
    filter (file: match ".*\\.nix" file != null && !(elem file moduleHelpers)) (
      attrNames (readDir ../vpns)
    )
  );

  addressingModes = [
    "underlay"
    "static"
    "derived"
    "assigned"
  ];

  maxInterfaceName = 15; # IFNAMSIZ - 1

  unique = list: builtins.foldl' (acc: x: if elem x acc then acc else acc ++ [ x ]) [ ] list;
  mapToAttrs = f: names: listToAttrs (map (n: { name = n; value = f n; }) names);
  quoted = list: concatStringsSep ", " (map (x: "'${toString x}'") list);

  validNetwork = cidr: isString cidr && (tryEval (builtins.deepSeq (ip.parseNetwork cidr) true)).success;

  unknownKeys =
    where: allowed: attrs:
    map (k: "${where}: unknown field '${k}' (valid: ${quoted allowed})") (
      filter (k: !(elem k allowed)) (attrNames attrs)
    );

  readToml =
    path:
    if !pathExists path then
      {
        value = null;
        problems = [ "${toString path} not found" ];
      }
    else
      let
        parsed = tryEval (fromTOML (readFile path));
      in
      if parsed.success then
        {
          inherit (parsed) value;
          problems = [ ];
        }
      else
        {
          value = null;
          problems = [ "${toString path}: not valid TOML" ];
        };

  checkTestbed =
    file: t:
    let
      lan = t.lan or null;
      hosts = t.hosts or null;
    in
    unknownKeys file [ "hosts" "lan" ] t
    ++ (
      if !(isList hosts) || !(builtins.all isString hosts) then
        [ "${file}: 'hosts' must be a list of host names" ]
      else
        (if length hosts < 2 then [ "${file}: 'hosts' needs at least 2 hosts, got ${toString (length hosts)}" ] else [ ])
        ++ (
          if length (unique hosts) != length hosts then
            [ "${file}: host names must be unique, got [${quoted hosts}]" ]
          else
            [ ]
        )
    )
    ++ (
      if !(isAttrs lan) then
        [ "${file}: missing table [lan]" ]
      else
        unknownKeys "${file} [lan]" [ "subnet" "mtu" "interface" ] lan
        ++ (if validNetwork (lan.subnet or null) then [ ] else [ "${file} [lan]: subnet '${toString (lan.subnet or "")}' is not a valid network" ])
        ++ checkMtu "${file} [lan]" (lan.mtu or 1500)
        ++ checkInterface "${file} [lan]" (lan.interface or "lan0")
    );

  checkMtu =
    where: mtu:
    if isInt mtu && mtu >= 576 && mtu <= 65535 then [ ] else [ "${where}: mtu ${toString mtu} is outside 576..65535" ];

  checkInterface =
    where: name:
    if !(isString name) || name == "" then
      [ "${where}: interface must be a non-empty string" ]
    else if stringLength name > maxInterfaceName then
      [
        "${where}: interface name '${name}' is ${toString (stringLength name)} characters; Linux allows at most ${toString maxInterfaceName}"
      ]
    else
      [ ];

  checkPort =
    where: p:
    if !(isAttrs p) then
      [ "${where}: must be a table with 'port' and 'protocols'" ]
    else
      unknownKeys where [ "port" "protocols" ] p
      ++ (
        if isInt (p.port or null) && p.port >= 1 && p.port <= 65535 then
          [ ]
        else
          [ "${where}: port ${toString (p.port or "(missing)")} is outside 1..65535" ]
      )
      ++ (
        let
          protos = p.protocols or [ ];
        in
        if isList protos && protos != [ ] && builtins.all (x: elem x [ "tcp" "udp" ]) protos then
          [ ]
        else
          [ "${where}: protocols must be a non-empty list of 'tcp'/'udp'" ]
      );

  checkVpn =
    file: stem: v:
    let
      addressing = v.addressing or null;
    in
    unknownKeys file [
      "name"
      "display_name"
      "description"
      "interface"
      "mtu"
      "coordinator"
      "addressing"
      "ports"
      "options"
    ] v
    ++ (if isString (v.name or null) then [ ] else [ "${file}: missing 'name'" ])
    ++ (
      if (v.name or stem) != stem then [ "${file}: name '${toString v.name}' differs from the file name '${stem}'" ] else [ ]
    )
    ++ (
      if elem stem knownVpns then
        [ ]
      else
        [ "${file}: unknown VPN '${stem}'; this flake has modules for: ${quoted knownVpns}" ]
    )
    ++ (if isString (v.display_name or null) then [ ] else [ "${file}: missing 'display_name'" ])
    ++ (if v ? interface then checkInterface file v.interface else [ ])
    ++ (if v ? mtu then checkMtu file v.mtu else [ ])
    ++ (
      if !(isAttrs addressing) then
        [ "${file}: missing table [addressing]" ]
      else
        unknownKeys "${file} [addressing]" [ "mode" "subnet" "family" ] addressing
        ++ (
          if elem (addressing.mode or null) addressingModes then
            [ ]
          else
            [
              "${file} [addressing]: mode '${toString (addressing.mode or "")}' is not one of ${quoted addressingModes}"
            ]
        )
        ++ (
          if (addressing.mode or null) == "static" && !(addressing ? subnet) then
            [ "${file} [addressing]: addressing mode 'static' needs a subnet" ]
          else
            [ ]
        )
        ++ (
          if addressing ? subnet && !(validNetwork addressing.subnet) then
            [ "${file} [addressing]: subnet '${toString addressing.subnet}' is not a valid network" ]
          else
            [ ]
        )
        ++ (
          if addressing ? family && !(elem addressing.family [ "ipv4" "ipv6" ]) then
            [ "${file} [addressing]: family '${toString addressing.family}' is not one of 'ipv4', 'ipv6'" ]
          else
            [ ]
        )
    )
    ++ concatLists (map (name: checkPort "${file} [ports.${name}]" v.ports.${name}) (attrNames (v.ports or { })))
    ++ concatLists (
      map (
        name:
        let
          value = v.options.${name};
        in
        if isString value || isInt value || isBool value then
          [ ]
        else
          [ "${file} [options]: '${name}' must be a string, integer or boolean" ]
      ) (attrNames (v.options or { }))
    );

  # Reads and checks a vpn-configs directory. Everything derived below assumes
  # `problems == [ ]`; modules assert that first.
  load =
    dir:
    let
      testbedFile = dir + "/testbed.toml";
      testbedRead = readToml testbedFile;
      testbed = testbedRead.value;
      vpnDir = dir + "/vpns";
      vpnFiles =
        if pathExists vpnDir then
          sort (a: b: a < b) (
            filter (n: match ".*\\.toml" n != null) (attrNames (readDir vpnDir))
          )
        else
          [ ];
      stemOf = file: head (match "(.*)\\.toml" file);
      vpnReads = map (file: {
        stem = stemOf file;
        file = "${toString vpnDir}/${file}";
        read = readToml (vpnDir + "/${file}");
      }) vpnFiles;
      vpns = listToAttrs (
        map (r: {
          name = r.stem;
          value = r.read.value;
        }) (filter (r: r.read.value != null) vpnReads)
      );
      problems =
        testbedRead.problems
        ++ (if testbed == null then [ ] else checkTestbed (toString testbedFile) testbed)
        ++ (if vpnFiles == [ ] then [ "no VPN settings found in ${toString vpnDir}" ] else [ ])
        ++ concatLists (
          map (
            r: r.read.problems ++ (if r.read.value == null then [ ] else checkVpn r.file r.stem r.read.value)
          ) vpnReads
        );
    in
    {
      inherit
        dir
        testbed
        vpns
        problems
        ;
      vpnNames = attrNames vpns;
    };

  # --- derived values (same definitions as harness/settings/addressing.py) ----------------

  hosts = configs: configs.testbed.hosts;

  ringIndex =
    configs: host:
    let
      hs = hosts configs;
      found = filter (i: builtins.elemAt hs i == host) (genList (x: x) (length hs));
    in
    if found == [ ] then
      throw "unknown host '${host}'; vpn-configs/testbed.toml lists: ${quoted hs}"
    else
      head found;

  vpn =
    configs: name:
    configs.vpns.${name}
      or (throw "unknown VPN '${name}'; vpn-configs/vpns has: ${quoted (attrNames configs.vpns)}");

  coordinator =
    configs: name:
    let
      v = vpn configs name;
      c = v.coordinator or null;
    in
    if c != null && elem c (hosts configs) then c else head (hosts configs);

  lanAddress = configs: host: ip.nthAddress configs.testbed.lan.subnet (ringIndex configs host + 1);

  subnet =
    configs: name:
    (vpn configs name).addressing.subnet or (throw "${name} has no subnet in vpn-configs");

  staticAddress =
    configs: name: host:
    let
      v = vpn configs name;
    in
    if v.addressing.mode != "static" then
      throw "${name} has no static address plan (${v.addressing.mode})"
    else
      ip.nthAddress v.addressing.subnet (ringIndex configs host + 1);

  prefixLength = configs: name: ip.prefixLength (subnet configs name);

  port =
    configs: name: portName:
    ((vpn configs name).ports.${portName}
      or (throw "${name}: vpn-configs defines no port '${portName}'")
    ).port;

  # Ports to open on the underlay, split by protocol, sorted and de-duplicated.
  firewall =
    configs: name:
    let
      ports = attrValues ((vpn configs name).ports or { });
      byProto = proto: sort (a: b: a < b) (unique (map (p: p.port) (filter (p: elem proto p.protocols) ports)));
    in
    {
      allowedTCPPorts = byProto "tcp";
      allowedUDPPorts = byProto "udp";
    };

  interface = configs: name: (vpn configs name).interface or null;
  mtu = configs: name: (vpn configs name).mtu or null;
  option = configs: name: key: default: (vpn configs name).options.${key} or default;
  addressingMode = configs: name: (vpn configs name).addressing.mode;

  # Everything the Python comparison test checks, as one JSON-able value.
  summary =
    configs:
    let
      names = configs.vpnNames;
      hs = hosts configs;
      staticNames = filter (n: addressingMode configs n == "static") names;
      withSubnet = filter (n: (vpn configs n).addressing ? subnet) names;
    in
    {
      hosts = hs;
      lanAddresses = mapToAttrs (lanAddress configs) hs;
      vpns = names;
      coordinators = mapToAttrs (coordinator configs) names;
      interfaces = mapToAttrs (interface configs) names;
      mtus = mapToAttrs (mtu configs) names;
      modes = mapToAttrs (addressingMode configs) names;
      staticAddresses = mapToAttrs (n: mapToAttrs (staticAddress configs n) hs) staticNames;
      prefixLengths = mapToAttrs (prefixLength configs) withSubnet;
      firewall = mapToAttrs (firewall configs) names;
      listenPorts = mapToAttrs (n: port configs n "listen") (filter (n: (vpn configs n).ports.listen or null != null) names);
    };
in
{
  inherit
    knownVpns
    maxInterfaceName
    load
    hosts
    ringIndex
    vpn
    coordinator
    lanAddress
    subnet
    staticAddress
    prefixLength
    port
    firewall
    interface
    mtu
    option
    addressingMode
    summary
    ;
}
