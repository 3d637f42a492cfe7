# Reader for a site directory: the per-site facts a user provides (see docs/site-template/):
# `site.toml` (underlay address of each host, the harness's SSH key), `hosts/<host>.nix`
# (hardware), and `public/<vpn>/...` (public keys and certificates from `vpn-bench keys`).
# Only public material lives here; it is read at evaluation time. Pure Nix (builtins only).
let
  ip = import ./ip.nix;
  secrets = import ./secrets.nix;
  inherit (builtins)
    attrNames
    concatLists
    concatStringsSep
    elem
    filter
    fromTOML
    isAttrs
    isList
    isString
    length
    match
    pathExists
    readFile
    replaceStrings
    tryEval
    ;

  quoted = list: concatStringsSep ", " (map (x: "'${toString x}'") list);
  unique = list: builtins.foldl' (acc: x: if elem x acc then acc else acc ++ [ x ]) [ ] list;

  # Trailing whitespace/newlines removed; key files end with a newline.
  trim =
    s:
    let
      m = match "[[:space:]]*(.*[^[:space:]])[[:space:]]*" s;
    in
    if m == null then "" else builtins.head m;

  hostKeys = [
    "address"
    "interface"
    "system"
  ];

  load =
    dir:
    let
      file = dir + "/site.toml";
      parsed = if pathExists file then tryEval (fromTOML (readFile file)) else { success = false; value = null; };
      toml = if parsed.success then parsed.value else { };
      hosts = toml.hosts or { };
      harness = toml.harness or { };
      readProblems =
        if !(pathExists file) then
          [ "site: ${toString file} not found (copy docs/site-template/ and fill it in)" ]
        else if !parsed.success then
          [ "site: ${toString file} is not valid TOML" ]
        else
          [ ];
    in
    {
      inherit dir hosts readProblems;
      sshAuthorizedKeys = harness.ssh_authorized_keys or [ ];
      harnessProblems =
        if isList (harness.ssh_authorized_keys or [ ]) && builtins.all isString (harness.ssh_authorized_keys or [ ]) then
          [ ]
        else
          [ "site: [harness] ssh_authorized_keys must be a list of strings" ];
    };

  address =
    site: host:
    site.hosts.${host}.address
      or (throw "site: ${toString site.dir}/site.toml has no [hosts.${host}] address");

  lanInterface = site: host: site.hosts.${host}.interface or null;
  system = site: host: site.hosts.${host}.system or "x86_64-linux";

  # "host:port" with brackets around IPv6 addresses.
  endpoint =
    site: host: port:
    let
      a = address site host;
    in
    if match ".*:.*" a != null then "[${a}]:${toString port}" else "${a}:${toString port}";

  publicPath = site: vpn: file: site.dir + "/public/${vpn}/${file}";
  hasPublic = site: vpn: file: pathExists (publicPath site vpn file);
  readPublic =
    site: vpn: file:
    let
      path = publicPath site vpn file;
    in
    if pathExists path then
      trim (readFile path)
    else
      throw "site: missing public file ${toString path}; run `vpn-bench keys` for ${vpn} (see docs/secrets.md)";

  hardwareModule =
    site: host:
    let
      path = site.dir + "/hosts/${host}.nix";
    in
    if pathExists path then path else null;

  expand = host: file: replaceStrings [ "{host}" ] [ host ] file;

  # Public files of `vpn` that are absent, as site-relative paths.
  missingPublic =
    site: hosts: vpn:
    let
      wanted = secrets.requiredPublic.${vpn} or {
        perHost = [ ];
        once = [ ];
      };
      files = wanted.once ++ concatLists (map (h: map (expand h) wanted.perHost) hosts);
    in
    map (f: "public/${vpn}/${f}") (filter (f: !(hasPublic site vpn f)) files);

  # Site problems that do not depend on the selected VPN: hosts, addresses, collisions with
  # overlay subnets.
  problems =
    site: configs:
    let
      testbedHosts = configs.testbed.hosts;
      siteHosts = attrNames site.hosts;
      where = "site ${toString site.dir}/site.toml";
      addresses = map (h: site.hosts.${h}.address or null) (filter (h: elem h siteHosts) testbedHosts);
      validAddresses = filter (a: isString a && ip.isAddress a) addresses;
      overlaySubnets = filter (x: x.subnet != null) (
        map (n: {
          vpn = n;
          subnet = configs.vpns.${n}.addressing.subnet or null;
        }) configs.vpnNames
      );
      collisions = concatLists (
        map (
          o:
          map (a: "${where}: underlay address ${a} lies inside the ${o.vpn} overlay subnet ${o.subnet}") (
            filter (a: ip.contains o.subnet a) validAddresses
          )
        ) overlaySubnets
      );
    in
    site.readProblems
    ++ site.harnessProblems
    ++ (
      let
        missing = filter (h: !(elem h siteHosts)) testbedHosts;
        extra = filter (h: !(elem h testbedHosts)) siteHosts;
      in
      (if missing == [ ] then [ ] else [ "${where}: no [hosts.<name>] table for ${quoted missing} (vpn-configs/testbed.toml lists ${quoted testbedHosts})" ])
      ++ (if extra == [ ] then [ ] else [ "${where}: hosts ${quoted extra} are not in vpn-configs/testbed.toml (valid: ${quoted testbedHosts})" ])
    )
    ++ concatLists (
      map (
        h:
        let
          entry = site.hosts.${h};
          a = entry.address or null;
        in
        if !(isAttrs entry) then
          [ "${where}: [hosts.${h}] must be a table" ]
        else
          (map (k: "${where}: [hosts.${h}] unknown field '${k}' (valid: ${quoted hostKeys})") (
            filter (k: !(elem k hostKeys)) (attrNames entry)
          ))
          ++ (
            if isString a && ip.isAddress a then
              [ ]
            else
              [ "${where}: [hosts.${h}] address '${toString a}' is not an IPv4 or IPv6 address" ]
          )
      ) (filter (h: elem h testbedHosts) siteHosts)
    )
    ++ (
      if length (unique validAddresses) != length validAddresses then
        [ "${where}: address collision: several hosts share an underlay address (${quoted validAddresses})" ]
      else
        [ ]
    )
    ++ collisions;
in
{
  inherit
    load
    address
    lanInterface
    system
    endpoint
    publicPath
    hasPublic
    readPublic
    hardwareModule
    missingPublic
    problems
    trim
    ;
}
