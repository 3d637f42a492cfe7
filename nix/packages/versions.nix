# Overlay: the VPN daemons at the versions of vpn-configs/versions.toml, the one place where
# the benchmark's versions and the reasons for them are written (scripts/build-vpns.sh builds
# the same versions for the local testbed). A package whose nixpkgs version already equals
# the wanted one is left alone; otherwise its source is pinned to the wanted tag here.
#
# NOT VERIFIED (docs/nix.md): no Nix build or fetch was possible where this was written, so
# the hashes of the overridden sources are lib.fakeHash placeholders. The first build of such
# a package fails with "hash mismatch ... got: sha256-..."; put that value into `hashes`
# below (src first, then vendorHash or cargoHash) and commit it.
final: prev:
let
  inherit (prev) lib;
  versions = builtins.fromTOML (builtins.readFile ../../vpn-configs/versions.toml);
  bare = version: lib.removePrefix "v" version;
  wanted = name: bare versions.${name}.version;

  # Known hashes per build and version; anything missing is a placeholder (see above).
  hashes = {
    # "nebula"."1.10.3" = { src = "sha256-..."; vendorHash = "sha256-..."; };
    # src: the NAR hash of the vendored archive (`nix hash path`, computed here), equal to
    # nixpkgs' fetchFromGitHub hash for the same tag; vendorHash/cargoHash: from nixpkgs'
    # package of the same version (pkgs/by-name/{hy/hyprspace,my/mycelium}), not computed here.
    "hyprspace"."0.15.0" = {
      src = "sha256-DmcfR8hA0IsFVEJPZ50jL81u3rw0ieVReTDDC8fTREQ=";
      vendorHash = "sha256-Pkj4q5v35JWwd4OPqj3AX8QLdrjnceT+90sioK5+VvQ=";
    };
    "mycelium"."0.7.10" = {
      src = "sha256-lKhq0+mymon6Xu82CSF96Kys1XSOpV/J+nwVywnUur4=";
      cargoHash = "sha256-heHR/iR5OUctvXh6HUpfrJtoKeziY6bqT0vkXPOEjIU=";
    };
    # zerotier 1.14.1: no known hash (the vendored archive leaves out windows/ and prebuilt
    # libraries, so its NAR hash is not the tag's; nixpkgs has 1.16.x).
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

  # A program from a GitHub tag whose dependencies are not a Go vendor hash (C++/Rust):
  # `extra` receives the pinned source to derive its cargoDeps from.
  pinSource =
    {
      name,
      package,
      owner,
      repo,
      rev ? "v${wanted name}",
      version ? wanted name,
      extra ? _src: _old: { },
    }:
    if package.version == version then
      package
    else
      let
        src = prev.fetchFromGitHub {
          inherit owner repo rev;
          hash = hashOf name "src";
        };
      in
      package.overrideAttrs (old: { inherit version src; } // extra src old);

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

  # ZeroTier 1.14.1 (nixpkgs: 1.16.x). Its network controller is still part of the default
  # build (1.16 moved it under ZT_NONFREE, which 1.14.1's makefile ignores). nixpkgs' patches
  # are for macOS builds of 1.16 and are dropped; the rustybits Cargo.lock is vendored anew.
  zerotierone = pinSource {
    name = "zerotier";
    package = prev.zerotierone;
    owner = "zerotier";
    repo = "ZeroTierOne";
    rev = wanted "zerotier";
    extra = src: _old: {
      patches = [ ];
      cargoDeps = prev.rustPlatform.fetchCargoVendor {
        inherit src;
        sourceRoot = "${src.name}/rustybits";
        hash = hashOf "zerotier" "cargoHash";
      };
    };
  };

  # Mycelium 0.7.10: the daemon crate is myceliumd/ (as in nixpkgs); its Cargo.lock has two
  # git dependencies, which fetchCargoVendor fetches by their locked commits.
  mycelium = pinSource {
    name = "mycelium";
    package = prev.mycelium;
    owner = "threefoldtech";
    repo = "mycelium";
    extra = src: _old: {
      cargoDeps = prev.rustPlatform.fetchCargoVendor {
        inherit src;
        sourceRoot = "${src.name}/myceliumd";
        hash = hashOf "mycelium" "cargoHash";
      };
    };
  };

  # Hyprspace 0.15.0. Upstream does not commit schema/config_generated.go; nixpkgs links a
  # copy made for its own version. Here it is generated from scripts/hyprspace/
  # config-schema.json (the schema of v0.15.0's nixos/settings.nix, as the local build does)
  # with nixpkgs' go-jsonschema (the local build uses v0.22.0, upstream's pin).
  hyprspace = pinGo {
    name = "hyprspace";
    package = prev.hyprspace;
    owner = "hyprspace";
    repo = "hyprspace";
    extra = old: {
      ldflags = [
        "-s"
        "-w"
        "-X github.com/hyprspace/hyprspace/cli.appVersion=${wanted "hyprspace"}"
      ];
      nativeBuildInputs = (old.nativeBuildInputs or [ ]) ++ [ prev.go-jsonschema ];
      preBuild = ''
        go-jsonschema -p schema ${../../scripts/hyprspace/config-schema.json} --tags json -t \
          -o schema/config_generated.go
      '';
    };
  };

  # tinc: nixpkgs' tinc_pre is 1.1pre18 from the same tag (its source hash equals the NAR
  # hash of the vendored archive, checked here); refuse silently drifting from it.
  tinc_pre =
    assert lib.assertMsg (prev.tinc_pre.version == wanted "tinc")
      "vpn-bench: nixpkgs tinc_pre is ${prev.tinc_pre.version}, vpn-configs/versions.toml wants ${wanted "tinc"}";
    prev.tinc_pre;
}
