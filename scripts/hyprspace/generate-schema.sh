#!/usr/bin/env bash
# Generates schema/config_generated.go in a Hyprspace source tree. Upstream generates it with
# go-jsonschema from a JSON schema that Nix derives from nixos/settings.nix (its flake app
# dev-generate-schemas); no Nix/nixpkgs here, so config-schema.json beside this script is that
# schema written out by hand from settings.nix of the version built (v0.15.0; re-check it
# when the version changes). go-jsonschema comes from the Go module proxy at the version
# upstream's dev/pkgs/go-jsonschema pins (v0.22.0; published as github.com/atombender/...).
# Usage: generate-schema.sh SOURCE_DIR   (Go environment from scripts/build-vpns.sh)
set -euo pipefail
src=${1:?usage: generate-schema.sh SOURCE_DIR}
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
readonly GENERATOR="github.com/atombender/go-jsonschema@v0.22.0"
tools="${GOPATH:-$HOME/go}/vpn-bench-tools"
if [[ ! -x "$tools/go-jsonschema" ]]; then
  GOBIN="$tools" go install "$GENERATOR"
fi
"$tools/go-jsonschema" -p schema "$here/config-schema.json" --tags json -t \
  -o "$src/schema/config_generated.go"
gofmt -l "$src/schema/config_generated.go"
