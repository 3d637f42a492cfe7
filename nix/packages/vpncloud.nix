# VpnCloud is not in nixpkgs. Built from the crates.io release the local testbed also builds
# (vpn-configs/versions.toml pins the same version). The source hash was computed here
# (`nix hash path` of the unpacked crate fetched by cargo from crates.io); the crate ships its
# Cargo.lock without git dependencies, so cargoLock needs no further hashes (reading the
# lock file from the fetched source is import-from-derivation, allowed by default).
{
  lib,
  rustPlatform,
  fetchCrate,
}:
rustPlatform.buildRustPackage rec {
  pname = "vpncloud";
  version = "2.3.0";

  src = fetchCrate {
    inherit pname version;
    hash = "sha256-zNpz8HrdYhaMbSX9oBZu/xI6dKa7lWESLEIuCn8HQAA=";
  };

  cargoLock.lockFile = "${src}/Cargo.lock";

  # The test suite opens sockets and expects a network.
  doCheck = false;

  meta = {
    description = "Peer-to-peer mesh VPN";
    homepage = "https://vpncloud.ddswd.de";
    license = lib.licenses.gpl3Plus;
    platforms = lib.platforms.linux;
    mainProgram = "vpncloud";
  };
}
