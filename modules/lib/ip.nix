# IPv4/IPv6 arithmetic in pure Nix (builtins only), so that CI can evaluate it without
# nixpkgs. It must agree with Python's `ipaddress` as used by `harness/settings/addressing.py`:
# strict networks (no host bits set), host number n of a network, and the canonical
# (RFC 5952) text form of IPv6 addresses.
let
  inherit (builtins)
    length
    elemAt
    genList
    foldl'
    match
    split
    filter
    isString
    concatStringsSep
    stringLength
    substring
    bitAnd
    ;

  pow2 = n: foldl' (acc: _: acc * 2) 1 (genList (x: x) n);

  mod = a: b: a - (a / b) * b;

  hexDigits = "0123456789abcdef";
  hexValue =
    c:
    let
      lower =
        {
          A = "a";
          B = "b";
          C = "c";
          D = "d";
          E = "e";
          F = "f";
        }
        .${c} or c;
      found = filter (i: substring i 1 hexDigits == lower) (genList (x: x) 16);
    in
    if found == [ ] then throw "'${c}' is not a hexadecimal digit" else elemAt found 0;

  parseHex = s: foldl' (acc: i: acc * 16 + hexValue (substring i 1 s)) 0 (genList (x: x) (stringLength s));

  toHex =
    n:
    if n < 16 then
      substring n 1 hexDigits
    else
      toHex (n / 16) + substring (mod n 16) 1 hexDigits;

  # Split on a literal one-character separator, keeping empty fields.
  splitOn = sep: s: filter isString (split sep s);

  # --- IPv4 --------------------------------------------------------------------------------

  parseOctet =
    text:
    if match "(0|[1-9][0-9]{0,2})" text == null then
      throw "'${text}' is not a decimal octet"
    else
      let
        value = builtins.fromJSON text;
      in
      if value > 255 then throw "octet ${text} is larger than 255" else value;

  parseIPv4 =
    text:
    let
      fields = splitOn "\\." text;
    in
    if length fields != 4 then
      throw "'${text}' is not an IPv4 address"
    else
      foldl' (acc: f: acc * 256 + parseOctet f) 0 fields;

  formatIPv4 =
    n:
    concatStringsSep "." (
      map (shift: toString (mod (n / pow2 shift) 256)) [
        24
        16
        8
        0
      ]
    );

  # --- IPv6 (eight 16-bit groups) ----------------------------------------------------------

  parseGroups =
    text: if text == "" then [ ] else map (g: if match "[0-9a-fA-F]{1,4}" g == null then throw "'${g}' is not an IPv6 group" else parseHex g) (splitOn ":" text);

  parseIPv6 =
    text:
    let
      halves = splitOn "::" text;
      count = length halves;
    in
    if count > 2 then
      throw "'${text}' has more than one '::'"
    else if count == 2 then
      let
        head = parseGroups (elemAt halves 0);
        tail = parseGroups (elemAt halves 1);
        missing = 8 - length head - length tail;
      in
      if missing < 1 then
        throw "'${text}' has too many groups for '::'"
      else
        head ++ genList (_: 0) missing ++ tail
    else
      let
        groups = parseGroups text;
      in
      if length groups != 8 then throw "'${text}' is not an IPv6 address" else groups;

  # RFC 5952 / Python ipaddress: lowercase, no leading zeros, the longest run (length > 1) of
  # zero groups becomes "::", the first one on a tie.
  formatIPv6 =
    groups:
    let
      indices = genList (x: x) 8;
      runAt = i: if i >= 8 || elemAt groups i != 0 then 0 else 1 + runAt (i + 1);
      best = foldl' (
        acc: i:
        let
          run = runAt i;
        in
        if run > acc.len then
          {
            start = i;
            len = run;
          }
        else
          acc
      ) {
        start = -1;
        len = 1;
      } indices;
      hex = map toHex groups;
      slice = from: to: concatStringsSep ":" (genList (i: elemAt hex (from + i)) (to - from));
    in
    if best.start < 0 then
      slice 0 8
    else
      "${slice 0 best.start}::${slice (best.start + best.len) 8}";

  addToGroups =
    groups: n:
    let
      step =
        acc: i:
        let
          total = elemAt groups (7 - i) + acc.carry;
        in
        {
          carry = total / 65536;
          out = [ (mod total 65536) ] ++ acc.out;
        };
      result = foldl' step {
        carry = n;
        out = [ ];
      } (genList (x: x) 8);
    in
    if result.carry != 0 then throw "IPv6 address overflow" else result.out;

  # --- networks ----------------------------------------------------------------------------

  parseNetwork =
    cidr:
    let
      parts = match "([^/]+)/([0-9]{1,3})" cidr;
    in
    if parts == null then
      throw "'${cidr}' is not a network in CIDR notation (address/prefix)"
    else
      let
        addressText = elemAt parts 0;
        prefix = builtins.fromJSON (elemAt parts 1);
        isV6 = match ".*:.*" addressText != null;
      in
      if isV6 then
        let
          groups = parseIPv6 addressText;
          hostBitsSet = builtins.any (i: bitAnd (elemAt groups i) (groupHostMask prefix i) != 0) (
            genList (x: x) 8
          );
        in
        if prefix > 128 then
          throw "'${cidr}': prefix length ${toString prefix} is larger than 128"
        else if hostBitsSet then
          throw "'${cidr}' has host bits set"
        else
          {
            family = "ipv6";
            inherit prefix groups;
            hostBits = 128 - prefix;
          }
      else
        let
          address = parseIPv4 addressText;
          size = pow2 (32 - prefix);
        in
        if prefix > 32 then
          throw "'${cidr}': prefix length ${toString prefix} is larger than 32"
        else if mod address size != 0 then
          throw "'${cidr}' has host bits set"
        else
          {
            family = "ipv4";
            inherit prefix address;
            hostBits = 32 - prefix;
          };

  # Host-part mask of 16-bit group i for a given prefix length.
  groupHostMask =
    prefix: i:
    let
      start = i * 16;
      networkBitsHere =
        if prefix <= start then
          0
        else if prefix >= start + 16 then
          16
        else
          prefix - start;
    in
    pow2 (16 - networkBitsHere) - 1;

  # Host number n (1 = first address after the network address), with the bounds that
  # Python's `nth_address` enforces.
  nthAddress =
    cidr: n:
    let
      net = parseNetwork cidr;
      limit =
        if net.family == "ipv4" then
          pow2 net.hostBits - 1
        else if net.hostBits >= 62 then
          null
        else
          pow2 net.hostBits;
    in
    if n < 1 || (limit != null && n >= limit) then
      throw "${cidr} has no host number ${toString n}"
    else if net.family == "ipv4" then
      formatIPv4 (net.address + n)
    else
      formatIPv6 (addToGroups net.groups n);

  # First and last address as comparable keys, for overlap checks.
  bounds =
    cidr:
    let
      net = parseNetwork cidr;
    in
    if net.family == "ipv4" then
      {
        inherit (net) family;
        low = [ net.address ];
        high = [ (net.address + pow2 net.hostBits - 1) ];
      }
    else
      {
        inherit (net) family;
        low = net.groups;
        high = genList (i: elemAt net.groups i + groupHostMask net.prefix i) 8;
      };

  compareLists =
    a: b:
    if a == [ ] then
      0
    else if builtins.head a < builtins.head b then
      -1
    else if builtins.head a > builtins.head b then
      1
    else
      compareLists (builtins.tail a) (builtins.tail b);

  overlaps =
    a: b:
    let
      x = bounds a;
      y = bounds b;
    in
    x.family == y.family && compareLists x.low y.high <= 0 && compareLists y.low x.high <= 0;

  isAddress =
    text:
    let
      attempt = builtins.tryEval (
        if match ".*:.*" text != null then builtins.deepSeq (parseIPv6 text) true else parseIPv4 text >= 0
      );
    in
    attempt.success && attempt.value;

  contains =
    cidr: address:
    let
      family = if match ".*:.*" address != null then "128" else "32";
    in
    overlaps cidr "${address}/${family}";
in
{
  inherit
    parseIPv4
    formatIPv4
    parseIPv6
    formatIPv6
    parseNetwork
    nthAddress
    overlaps
    contains
    isAddress
    ;
  prefixLength = cidr: (parseNetwork cidr).prefix;
  family = cidr: (parseNetwork cidr).family;
  canonicalIPv6 = text: formatIPv6 (parseIPv6 text);
}
