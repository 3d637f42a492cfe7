#!/usr/bin/env bash
# Build the VPN daemons that Debian does not package, from the registries this
# machine reaches (Go module proxy, crates.io), into a prefix outside the
# repo. Why a script: machines are handed out fresh, so whatever the local
# testbed needs beyond apt must be rebuildable by the project itself.
#
# Usage: scripts/build-extra-vpns.sh [--prefix DIR] [--only NAME] [--force] [--list]
#   NAME: tailscale | headscale | vpncloud   (default: all three)
#   DIR:  default /opt/vpn-bench-extra (env VPN_BENCH_EXTRA_PREFIX overrides)
#   EasyTier is not built here: the harness runs the PyPI wheel easytier-pyo3
#   from its own Python (pip install 'vpn-bench[easytier]').
#
# Results: DIR/bin/{tailscaled,tailscale,headscale,vpncloud}
# Caches:  DIR/cache/{go-mod,go-build,go-path,cargo-home,cargo-target}
# Exit codes: 0 ok, 2 bad arguments, 3 registry unreachable or refusing,
#             4 build failed or timed out, 5 a required toolchain is missing.
set -euo pipefail

# Pinned versions: the newest that the registries here serve AND that build
# with the toolchains here (Go 1.26, Rust stable).
readonly TAILSCALE_VERSION="v1.102.5"   # v1.104.x needs Go >= 1.27.3
readonly HEADSCALE_VERSION="v0.28.0"    # newest served; go.mod says go 1.25.5
readonly VPNCLOUD_VERSION="2.3.0"       # newest on crates.io
readonly MIN_GO_MINOR=26                # tailscale v1.102.5 needs go >= 1.26.6

readonly BUILDABLE=(tailscale headscale vpncloud)
# Names the harness knows but that this script does not build, and why.
declare -A UNAVAILABLE=(
  [easytier]="it comes from PyPI: .venv/bin/pip install -e '.[easytier]' (installs the vpb-easytier launcher; or the Nix package easytier for easytier-core)"
  [hyprspace]="the Go module proxy refuses github.com/hyprspace/hyprspace (403 for every version)"
  [zerotier]="no ZeroTier package on any registry reachable here"
  [mycelium]="crates.io 'mycelium' is an unrelated crate; the mesh daemon is not published there"
)

# Per-build wall-clock bounds (seconds); 2 cores, cold caches.
readonly GO_TIMEOUT=1800
readonly CARGO_TIMEOUT=2400
readonly PROBE_TIMEOUT=90

die() { # code message...
  local code=$1; shift
  printf 'build-extra-vpns: error: %s\n' "$*" >&2
  exit "$code"
}
say() { printf '[build-extra-vpns] %s\n' "$*"; }

usage() {
  sed -n '7,16p' "$0" | sed 's/^# \{0,1\}//'
}

prefix="${VPN_BENCH_EXTRA_PREFIX:-/opt/vpn-bench-extra}"
only=""
force=0
while [[ $# -gt 0 ]]; do
  case "$1" in
    --prefix) [[ $# -ge 2 && -n "$2" ]] || die 2 "--prefix needs a directory"; prefix="$2"; shift 2 ;;
    --prefix=*) prefix="${1#--prefix=}"; [[ -n "$prefix" ]] || die 2 "--prefix needs a directory"; shift ;;
    --only) [[ $# -ge 2 && -n "$2" ]] || die 2 "--only needs a name; valid: ${BUILDABLE[*]}"; only="$2"; shift 2 ;;
    --only=*) only="${1#--only=}"; shift ;;
    --force) force=1; shift ;;
    --list) printf '%s\n' "${BUILDABLE[@]}"; exit 0 ;;
    -h|--help) usage; exit 0 ;;
    *) die 2 "unknown argument '$1'; valid: --prefix DIR, --only {$(IFS=,; echo "${BUILDABLE[*]}")}, --force, --list, --help" ;;
  esac
done

targets=("${BUILDABLE[@]}")
if [[ -n "$only" ]]; then
  if [[ -n "${UNAVAILABLE[$only]+x}" ]]; then
    die 2 "'$only' is not built by this script: ${UNAVAILABLE[$only]}; valid: ${BUILDABLE[*]}"
  fi
  valid=0
  for n in "${BUILDABLE[@]}"; do [[ "$n" == "$only" ]] && valid=1; done
  [[ $valid -eq 1 ]] || die 2 "unknown VPN '$only'; valid: ${BUILDABLE[*]}"
  targets=("$only")
fi
[[ "$prefix" == /* ]] || die 2 "--prefix must be an absolute path, got '$prefix'"

readonly BIN="$prefix/bin" CACHE="$prefix/cache" STAMPS="$prefix/stamps"

need_tool() { # tool name-for-message
  command -v "$1" >/dev/null 2>&1 || die 5 "'$1' not found on PATH; it is needed to build $2"
}

up_to_date() { # name version binary...
  local name=$1 version=$2; shift 2
  [[ $force -eq 0 ]] || return 1
  [[ -f "$STAMPS/$name" && "$(cat "$STAMPS/$name")" == "$version" ]] || return 1
  local b; for b in "$@"; do [[ -x "$BIN/$b" ]] || return 1; done
  return 0
}

stamp() { printf '%s\n' "$2" >"$STAMPS/$1"; }

# Runs a bounded build step, reporting its wall time; maps timeouts and failures
# to distinct exit codes so a caller (CI) can tell them apart.
timed() { # name timeout-seconds command...
  local name=$1 limit=$2; shift 2
  local start=$SECONDS rc=0
  timeout --kill-after=30 "$limit" "$@" || rc=$?
  local took=$((SECONDS - start))
  if [[ $rc -eq 124 || $rc -eq 137 ]]; then
    die 4 "$name: build exceeded ${limit}s and was stopped"
  elif [[ $rc -ne 0 ]]; then
    die 4 "$name: build failed (exit $rc) after ${took}s; see the output above"
  fi
  say "$name: built in ${took}s"
  printf '%s\t%s\n' "$name" "$took" >>"$STAMPS/build-times.tsv"
}

go_env() {
  export GOBIN="$BIN" GOMODCACHE="$CACHE/go-mod" GOCACHE="$CACHE/go-build"
  export GOPATH="$CACHE/go-path" GOTOOLCHAIN=local CGO_ENABLED=0 GOFLAGS=-buildvcs=false
  export GOPROXY="${GOPROXY:-https://proxy.golang.org,direct}"
}

check_go() {
  need_tool go "tailscale/headscale"
  local minor
  minor="$(go env GOVERSION | sed -E 's/^go1\.([0-9]+).*/\1/')"
  [[ "$minor" =~ ^[0-9]+$ && "$minor" -ge $MIN_GO_MINOR ]] \
    || die 5 "Go 1.$MIN_GO_MINOR or newer needed, found $(go env GOVERSION)"
}

probe_go_module() { # module@version
  local out
  if ! out="$(timeout "$PROBE_TIMEOUT" go list -m -json "$1" 2>&1)"; then
    die 3 "Go module proxy did not serve $1 ($GOPROXY): $(printf '%s' "$out" | tail -n 2 | tr '\n' ' ')"
  fi
}

# Every dependency hash recorded in the binary must appear in the upstream
# go.sum: proves the modules fetched are the ones the project pinned.
verify_against_go_sum() { # binary go.sum
  local bad=0 kind path version hash
  while IFS=$'\t' read -r _ kind path version hash; do
    [[ "$kind" == dep && -n "$hash" ]] || continue
    grep -qxF "$path $version $hash" "$2" || { say "hash mismatch: $path $version"; bad=1; }
  done < <(go version -m "$1")
  [[ $bad -eq 0 ]] || { rm -f "$1"; die 4 "$(basename "$1"): module hashes differ from $2; binary removed"; }
  say "$(basename "$1"): all module hashes match upstream go.sum"
}

build_tailscale() {
  local v=$TAILSCALE_VERSION
  if up_to_date tailscale "$v" tailscaled tailscale; then say "tailscale $v: up to date in $BIN"; return; fi
  check_go; go_env
  say "tailscale $v: go install tailscale.com/cmd/{tailscaled,tailscale} -> $BIN"
  probe_go_module "tailscale.com@$v"
  # Without the stamps 'tailscale version' says "<v>-ERR-BuildInfo" (the
  # release scripts normally set them); the control server sees this string.
  local ver=${v#v}
  timed tailscale "$GO_TIMEOUT" go install \
    -ldflags "-X tailscale.com/version.longStamp=$ver -X tailscale.com/version.shortStamp=$ver" \
    "tailscale.com/cmd/tailscaled@$v" "tailscale.com/cmd/tailscale@$v"
  stamp tailscale "$v"
}

build_headscale() {
  local v=$HEADSCALE_VERSION
  if up_to_date headscale "$v" headscale; then say "headscale $v: up to date in $BIN"; return; fi
  check_go; go_env
  say "headscale $v: go install github.com/juanfont/headscale/cmd/headscale -> $BIN"
  probe_go_module "github.com/juanfont/headscale@$v"
  timeout "$PROBE_TIMEOUT" go mod download "github.com/juanfont/headscale@$v" \
    || die 3 "Go module proxy did not deliver github.com/juanfont/headscale@$v"
  # 'go install m@v' also asks the proxy for m's version list (deprecation
  # check), which the proxy here refuses for headscale. The module cache keeps
  # a list of what it downloaded, so serve that first; everything else still
  # comes from the real proxy and is checked against the checksum database.
  # 'go install m@v' (not a build in a copy) keeps 'headscale version' = $v.
  # The checksum database answers 404 for one pseudo-version headscale pins
  # (tailsql); skip the database for it alone and check every module hash in
  # the binary against headscale's own go.sum below instead.
  GOPROXY="file://$GOMODCACHE/cache/download,$GOPROXY" GONOSUMDB=github.com/tailscale/tailsql \
    timed headscale "$GO_TIMEOUT" go install "github.com/juanfont/headscale/cmd/headscale@$v"
  verify_against_go_sum "$BIN/headscale" "$GOMODCACHE/github.com/juanfont/headscale@$v/go.sum"
  stamp headscale "$v"
}

build_vpncloud() {
  local v=$VPNCLOUD_VERSION
  if up_to_date vpncloud "$v" vpncloud; then say "vpncloud $v: up to date in $BIN"; return; fi
  need_tool cargo "vpncloud"
  export CARGO_HOME="$CACHE/cargo-home" CARGO_TARGET_DIR="$CACHE/cargo-target"
  # rustup's proxies look for toolchains under RUSTUP_HOME, which the new
  # CARGO_HOME must not hide.
  export RUSTUP_HOME="${RUSTUP_HOME:-$HOME/.rustup}"
  say "vpncloud $v: cargo install vpncloud --locked -> $BIN"
  # 'cargo info' (not 'cargo search': the registry here has no search API).
  if ! (cd "$CACHE" && timeout "$PROBE_TIMEOUT" cargo info "vpncloud@$v" >/dev/null 2>&1); then
    die 3 "crates.io did not serve vpncloud $v ('cargo info vpncloud@$v' failed or timed out)"
  fi
  # --locked: the crate's own Cargo.lock, so the build does not drift.
  timed vpncloud "$CARGO_TIMEOUT" cargo install vpncloud --version "=$v" --locked \
    --root "$prefix" --no-track
  stamp vpncloud "$v"
}

mkdir -p "$BIN" "$CACHE" "$STAMPS"
say "prefix $prefix; building: ${targets[*]}"
for t in "${targets[@]}"; do
  "build_$t"
done
say "done; binaries in $BIN:"
ls -1 "$BIN"
