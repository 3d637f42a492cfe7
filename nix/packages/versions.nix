# Overlay: the VPN daemons at the versions of vpn-configs/versions.toml, the one place where
# the benchmark's versions and the reasons for them are written (scripts/build-vpns.sh builds
# the same versions for the local testbed). A package whose nixpkgs version already equals
# the wanted one is left alone; otherwise its source is pinned to the wanted tag here.
#
# NOT VERIFIED (docs/nix.md): no Nix build or fetch was possible where this was written, so
# the hashes of the overridden sources are lib.fakeHash placeholders. The first build of such
# a package fails with "hash mismatch ... got: sha256-..."; put that value into `hashes`
# below (src first, then vendorHash) and commit it.
final: prev:
let
  inherit (prev) lib;
  versions = builtins.fromTOML (builtins.readFile ../../vpn-configs/versions.toml);
  bare = version: lib.removePrefix "v" version;
  wanted = name: bare versions.${name}.version;

  # Known hashes per build and version; anything missing is a placeholder (see above).
  hashes = {
    # "nebula"."1.10.3" = { src = "sha256-..."; vendorHash = "sha256-..."; };
  };
  hashOf =
    name: kind:
    let
      known = (hashes.${name} or { }).${wanted name} or { };
    in
    known.${kind} or (lib.warn
      "vpn-bench: no ${kind} for ${name} ${wanted name} in nix/packages/versions.nix; using lib.fakeHash (the build will print the right one)"
      lib.fakeHash
    );

  # A Go program from a GitHub tag (or commit) at the wanted version.
  pinGo =
    {
      name,
      package,
      owner,
      repo,
      rev ? "v${wanted name}",
      version ? wanted name,
      extra ? _old: { },
    }:
    if package.version == version then
      package
    else
      package.overrideAttrs (
        old:
        {
          inherit version;
          src = prev.fetchFromGitHub {
            inherit owner repo rev;
            hash = hashOf name "src";
          };
          vendorHash = hashOf name "vendorHash";
        }
        // extra old
      );

  # wireguard-go: versions.toml pins a Go pseudo-version (the commit of 2026-05-22, which
  # reports 0.0.20250522); nixpkgs names its builds 0-unstable-<date>.
  wireguardCommit = lib.last (lib.splitString "-" versions.wireguard-go.version);
in
{
  wireguard-go = pinGo {
    name = "wireguard-go";
    package = prev.wireguard-go;
    owner = "WireGuard";
    repo = "wireguard-go";
    rev = wireguardCommit;
    version = "${versions.wireguard-go.reports}-unstable-2026-05-22";
    # Keep upstream's version.go (nixpkgs rewrites it with its own commit id).
    extra = _old: {
      postPatch = ''
        rm -f format_test.go
      '';
      doInstallCheck = false;
    };
  };

  nebula = pinGo {
    name = "nebula";
    package = prev.nebula;
    owner = "slackhq";
    repo = "nebula";
    extra = _old: { ldflags = [ "-X main.Build=${wanted "nebula"}" ]; };
  };

  yggdrasil = pinGo {
    name = "yggdrasil";
    package = prev.yggdrasil;
    owner = "yggdrasil-network";
    repo = "yggdrasil-go";
    extra = old: {
      ldflags = map (
        flag:
        if lib.hasPrefix "-X github.com/yggdrasil-network/yggdrasil-go/src/version.buildVersion=" flag then
          "-X github.com/yggdrasil-network/yggdrasil-go/src/version.buildVersion=${wanted "yggdrasil"}"
        else
          flag
      ) (old.ldflags or [ ]);
    };
  };

  tailscale = pinGo {
    name = "tailscale";
    package = prev.tailscale;
    owner = "tailscale";
    repo = "tailscale";
  };

  headscale = pinGo {
    name = "headscale";
    package = prev.headscale;
    owner = "juanfont";
    repo = "headscale";
  };

  # tinc: nixpkgs' tinc_pre is 1.1pre18 from the same tag (its source hash equals the NAR
  # hash of the vendored archive, checked here); refuse silently drifting from it.
  tinc_pre =
    assert lib.assertMsg (prev.tinc_pre.version == wanted "tinc")
      "vpn-bench: nixpkgs tinc_pre is ${prev.tinc_pre.version}, vpn-configs/versions.toml wants ${wanted "tinc"}";
    prev.tinc_pre;
}
