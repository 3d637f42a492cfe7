#!/usr/bin/env bash
# Build the VPN daemons the benchmark means (vpn-configs/versions.toml) that Debian does
# not ship at that version, into a versioned cache outside the tree. Why: machines are
# handed out fresh and reach only package registries, so the project must rebuild its
# daemons itself, at pinned versions, and say clearly when one cannot be built.
#
# Usage: scripts/build-vpns.sh [--prefix DIR] [--vendor DIR] [--group setup|extra|all]
#                              [--only NAME[,NAME...]] [--force] [--list] [--help]
#   DIR (prefix): default /opt/vpn-bench (env VPN_BENCH_PREFIX)
#   DIR (vendor): upstream source archives + SHA256SUMS; default ../shared/vendor relative
#                 to the repository (env VPN_BENCH_VENDOR)
#   --group: which builds of versions.toml (default all); --only: these builds (see --list)
#
# Layout:  DIR/<build>-<version>/bin/*   one directory per build and version, never changed
#          DIR/bin/*                     symlinks to the current versions (put it first on PATH)
#          DIR/failed/<build>.json       why the last build of <build> failed (read by the
#                                        harness, which then lists the VPN as not runnable)
#          DIR/logs/<build>-<version>.log, DIR/cache/ (Go, cargo, unpacked sources)
# Exit codes: 0 all selected builds present, 1 some failed (listed at the end),
#             2 bad arguments or an unreadable versions file.
set -uo pipefail
# The whole script is one compound command: bash reads it completely before running it, so
# editing the file while a build runs cannot derail that build.
{
# The machines are shared: compile at low priority.
if [[ -z "${BUILD_VPNS_NICE-}" ]]; then export BUILD_VPNS_NICE=1; exec nice -n 10 "$0" "$@"; fi

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# Where Go's and Rust's installers put the toolchains, for shells that lack them on PATH.
PATH="$PATH:/usr/local/go/bin:${HOME:-/root}/.cargo/bin"
versions_file="$repo/vpn-configs/versions.toml"
prefix="${VPN_BENCH_PREFIX:-/opt/vpn-bench}"
vendor="${VPN_BENCH_VENDOR:-$repo/../shared/vendor}"
group="all"
only=""
force=0
list=0
readonly JOBS=2              # the machines are shared: at most two parallel compile jobs
readonly BUILD_TIMEOUT=2400  # seconds per build, cold caches, 2 cores

say() { printf '[build-vpns] %s\n' "$*"; }
usage_error() { printf 'build-vpns: error: %s\n' "$*" >&2; exit 2; }

while [[ $# -gt 0 ]]; do
  case "$1" in
    --prefix) [[ $# -ge 2 && -n "$2" ]] || usage_error "--prefix needs a directory"; prefix="$2"; shift 2 ;;
    --vendor) [[ $# -ge 2 && -n "$2" ]] || usage_error "--vendor needs a directory"; vendor="$2"; shift 2 ;;
    --versions) [[ $# -ge 2 && -n "$2" ]] || usage_error "--versions needs a file"; versions_file="$2"; shift 2 ;;
    --group) [[ $# -ge 2 ]] || usage_error "--group needs one of: setup, extra, all"; group="$2"; shift 2 ;;
    --only) [[ $# -ge 2 && -n "$2" ]] || usage_error "--only needs build names (see --list)"; only="$2"; shift 2 ;;
    --force) force=1; shift ;;
    --list) list=1; shift ;;
    -h|--help) sed -n '7,21p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) usage_error "unknown argument '$1'; valid: --prefix DIR, --vendor DIR, --versions FILE, --group {setup,extra,all}, --only NAMES, --force, --list, --help" ;;
  esac
done
case "$group" in setup|extra|all) ;; *) usage_error "unknown group '$group'; valid: setup, extra, all" ;; esac
[[ "$prefix" == /* ]] || usage_error "--prefix must be an absolute path, got '$prefix'"
[[ -r "$versions_file" ]] || usage_error "versions file '$versions_file' not readable"

# versions.toml -> shell assignments (python3 >= 3.11 has tomllib; Debian 12 has 3.11).
declare -a BUILDS=()
declare -A F=()   # F[<build>.<key>] = value; lists joined by spaces, tables as k=v pairs
if ! parsed="$(python3 - "$versions_file" <<'PY'
import shlex, sys, tomllib
with open(sys.argv[1], "rb") as f:
    data = tomllib.load(f)
for name, entry in data.items():
    print(f"BUILDS+=({shlex.quote(name)})")
    for key, value in entry.items():
        if isinstance(value, list):
            value = " ".join(str(v) for v in value)
        elif isinstance(value, dict):
            value = " ".join(f"{k}={v}" for k, v in value.items())
        elif isinstance(value, bool):
            value = "1" if value else ""
        print(f"F[{shlex.quote(name + '.' + key)}]={shlex.quote(str(value))}")
PY
)"; then
  usage_error "cannot read $versions_file (see the Python error above)"
fi
eval "$parsed"

field() { printf '%s' "${F[$1.$2]-}"; }

if [[ $list -eq 1 ]]; then
  for b in "${BUILDS[@]}"; do
    printf '%-14s %-8s %-7s %s %s\n' "$b" "$(field "$b" source)" "$(field "$b" group)" \
      "$(field "$b" implementation)" "$(field "$b" version)"
  done
  exit 0
fi

selected=()
if [[ -n "$only" ]]; then
  IFS=, read -r -a wanted <<<"$only"
  for w in "${wanted[@]}"; do
    [[ -n "${F[$w.version]+x}" ]] || usage_error "unknown build '$w'; valid: ${BUILDS[*]}"
    selected+=("$w")
  done
else
  for b in "${BUILDS[@]}"; do
    [[ "$group" == all || "$(field "$b" group)" == "$group" ]] && selected+=("$b")
  done
fi

readonly BIN="$prefix/bin" CACHE="$prefix/cache" LOGS="$prefix/logs" FAILED="$prefix/failed"
mkdir -p "$BIN" "$CACHE" "$LOGS" "$FAILED" || { echo "build-vpns: cannot create $prefix" >&2; exit 1; }
vendor="$(cd "$vendor" 2>/dev/null && pwd || printf '%s' "$vendor")"

# --- one build's state -------------------------------------------------------------------
name="" version="" dest="" stage="" log="" step=""

# Runs a step of the current build with its output in the log; on failure the step's name
# and the log's last lines say why.
run_step() { # step-name command...
  step=$1; shift
  printf '\n### %s: %s\n' "$step" "$*" >>"$log"
  "$@" >>"$log" 2>&1
}

fail() { # reason
  local reason=$1
  say "$name $version: FAILED at step '$step': $reason (log: $log)"
  tail -n 15 "$log" 2>/dev/null | sed 's/^/    | /'
  python3 - "$FAILED/$name.json" "$name" "$(field "$name" vpn)" "$(field "$name" implementation)" \
    "$version" "$step" "$reason" "$log" <<'PY'
import json, sys
path, build, vpn, impl, version, step, reason, log = sys.argv[1:]
with open(path, "w") as f:
    json.dump({"build": build, "vpn": vpn, "implementation": impl, "version": version,
               "step": step, "reason": reason, "log": log}, f)
    f.write("\n")
PY
  # Do not let an older build of the same program stand in for the one asked for.
  local b; for b in $(field "$name" binaries); do
    [[ -L "$BIN/$b" ]] && rm -f "$BIN/$b"
  done
  return 1
}

go_env() { # toolchain
  export GOMODCACHE="$CACHE/go-mod" GOCACHE="$CACHE/go-build" GOPATH="$CACHE/go-path"
  export GOTOOLCHAIN="${1:-local}" CGO_ENABLED=0 GOFLAGS="-mod=mod -buildvcs=false -p=$JOBS"
  export GOPROXY="${GOPROXY:-$(go env GOPROXY 2>/dev/null || echo https://proxy.golang.org,direct)}"
}

cargo_env() { # target-dir-name
  export CARGO_HOME="$CACHE/cargo-home" CARGO_TARGET_DIR="$CACHE/cargo-target/$1"
  export CARGO_BUILD_JOBS=$JOBS CARGO_NET_GIT_FETCH_WITH_CLI=true
  # rustup's proxies look for toolchains under RUSTUP_HOME, which the new CARGO_HOME hides.
  export RUSTUP_HOME="${RUSTUP_HOME:-$HOME/.rustup}"
}

# Every dependency hash recorded in the binary must appear in the upstream go.sum.
verify_against_go_sum() { # binary go.sum
  local bad=0 kind path ver hash
  while IFS=$'\t' read -r _ kind path ver hash; do
    [[ "$kind" == dep && -n "$hash" ]] || continue
    grep -qxF "$path $ver $hash" "$2" || { echo "hash mismatch: $path $ver" >>"$log"; bad=1; }
  done < <(go version -m "$1")
  [[ $bad -eq 0 ]]
}

build_go() {
  command -v go >/dev/null || { step=toolchain; fail "'go' not on PATH (Go >= 1.26: https://go.dev/dl)"; return; }
  local module toolchain ldflags pkgs=() p
  module=$(field "$name" module); toolchain=$(field "$name" go_toolchain)
  ldflags=$(field "$name" ldflags)
  (
    go_env "$toolchain"
    export GOBIN="$stage/bin"
    run_step download timeout 600 go mod download "$module@$version" \
      || fail "the Go module proxy ($GOPROXY) did not deliver $module@$version" || exit 1
    if [[ -n "$(field "$name" go_local_list)" ]]; then
      export GOPROXY="file://$GOMODCACHE/cache/download,$GOPROXY"
    fi
    GONOSUMDB="$(field "$name" go_nosumdb)"; export GONOSUMDB
    if [[ -z "$(field "$name" go_replace)" ]]; then
      # `go install m@v`: exactly upstream's go.mod/go.sum, and `go version -m` says m@v.
      for p in $(field "$name" packages); do
        [[ "$p" == . ]] && pkgs+=("$module@$version") || pkgs+=("$module/$p@$version")
      done
      run_step "go install" timeout "$BUILD_TIMEOUT" go install -trimpath -ldflags "$ldflags" "${pkgs[@]}" \
        || fail "go install failed or timed out" || exit 1
    else
      # Module mode on a copy of the module, with the listed imports replaced.
      local src="$CACHE/src/$name-$version" pair
      rm -rf "$src"; mkdir -p "$(dirname "$src")"
      cp -r "$GOMODCACHE/$module@$version" "$src" && chmod -R u+w "$src"
      for pair in $(field "$name" go_replace); do
        run_step "go mod edit" go -C "$src" mod edit -replace "${pair%%=*}=$repo/${pair#*=}" \
          || fail "cannot replace ${pair%%=*}" || exit 1
      done
      for p in $(field "$name" packages); do pkgs+=("./$p"); done
      run_step "go build" timeout "$BUILD_TIMEOUT" go -C "$src" build -trimpath -ldflags "$ldflags" \
        -o "$stage/bin/" "${pkgs[@]}" || fail "go build failed or timed out" || exit 1
    fi
    if [[ -n "$(field "$name" verify_go_sum)" ]]; then
      local b; for b in "$stage"/bin/*; do
        step="verify go.sum"
        verify_against_go_sum "$b" "$GOMODCACHE/$module@$version/go.sum" \
          || fail "module hashes in $(basename "$b") differ from upstream go.sum" || exit 1
      done
    fi
  ) || return 1
  local pair
  for pair in $(field "$name" rename); do
    mv "$stage/bin/${pair%%=*}" "$stage/bin/${pair#*=}"
  done
}

build_crates() {
  command -v cargo >/dev/null || { step=toolchain; fail "'cargo' not on PATH (Rust stable: https://rustup.rs)"; return; }
  (
    cargo_env "$name"
    run_step "cargo install" timeout "$BUILD_TIMEOUT" cargo install "$(field "$name" crate)" \
      --version "=$version" --locked --root "$stage" --no-track \
      || fail "cargo install $(field "$name" crate)@$version --locked failed (crates.io unreachable or compile error)"
  )
}

# Unpacks a vendored archive after checking it against SHA256SUMS; prints the source dir.
unpack_vendor() {
  local archive sum src
  archive=$(field "$name" archive)
  step="verify"
  if [[ ! -f "$vendor/$archive" ]]; then
    fail "$archive not in $vendor (--vendor DIR); with internet: git clone --branch $(field "$name" tag) $(field "$name" upstream) src && git -C src archive --prefix=$archive-root/ $(field "$name" tag) | gzip -n > $archive, see docs/notes/vpn-builds.md"
    return 1
  fi
  sum=$(grep -E "^[0-9a-f]{64}  $archive\$" "$vendor/SHA256SUMS" 2>/dev/null)
  [[ -n "$sum" ]] || { fail "$archive has no line in $vendor/SHA256SUMS"; return 1; }
  (cd "$vendor" && printf '%s\n' "$sum" | sha256sum -c --status) \
    || { fail "$archive does not match its SHA256SUMS line"; return 1; }
  src="$CACHE/src/$name-$version"
  rm -rf "$src"; mkdir -p "$src"
  run_step unpack tar -xzf "$vendor/$archive" -C "$src" --strip-components=1 \
    || { fail "cannot unpack $archive"; return 1; }
  SRC="$src"
}

build_vendor() {
  SRC=""
  unpack_vendor || return 1
  "vendor_$(field "$name" build)"
}

# tinc 1.1: autotools. configure.ac takes its version from `git describe`, absent in an
# archive; write the known version in, so `tincd --version` says it.
vendor_tinc() {
  local v=$version
  sed -i "s/m4_esyscmd_s((git describe || echo UNKNOWN) | sed 's\/release-\/\/')/[$v]/" "$SRC/configure.ac"
  grep -q "AC_INIT(\[tinc\], \[$v\])" "$SRC/configure.ac" \
    || { step="patch"; fail "configure.ac has no 'git describe' version line to replace"; return 1; }
  (
    cd "$SRC" || exit 1
    run_step autoreconf autoreconf -fsi || fail "autoreconf failed (Debian packages autoconf, automake)" || exit 1
    run_step configure ./configure --prefix="$stage" --sysconfdir=/etc --localstatedir=/var \
      --disable-uml --disable-vde --disable-miniupnpc --disable-readline --disable-curses \
      || fail "configure failed (Debian packages libssl-dev liblzo2-dev zlib1g-dev)" || exit 1
    run_step make make -j"$JOBS" -C src || fail "make failed" || exit 1
    mkdir -p "$stage/bin" && cp src/tincd src/tinc "$stage/bin/"
  )
}

vendor_zerotier() {
  (
    cd "$SRC" || exit 1
    run_step make timeout "$BUILD_TIMEOUT" make -j"$JOBS" ZT_SSO_SUPPORTED=0 one \
      || fail "make ZT_SSO_SUPPORTED=0 one failed (Debian package build-essential)" || exit 1
    mkdir -p "$stage/bin" && cp zerotier-one "$stage/bin/"
    # One binary; it acts as the CLI and the id tool when called by those names.
    ln -sf zerotier-one "$stage/bin/zerotier-cli"
    ln -sf zerotier-one "$stage/bin/zerotier-idtool"
  )
}

vendor_mycelium() {
  command -v cargo >/dev/null || { step=toolchain; fail "'cargo' not on PATH (Rust stable: https://rustup.rs)"; return; }
  (
    cargo_env "$name"
    # Cargo.lock's two git dependencies come from bundles (same commit ids), through git's
    # url.<base>.insteadOf, set for this process only.
    local i=0 pair url bundle
    for pair in $(field "$name" git_bundles); do
      url=${pair%%=*}; bundle=${pair#*=}
      step="verify"
      grep -E "^[0-9a-f]{64}  $bundle\$" "$vendor/SHA256SUMS" | (cd "$vendor" && sha256sum -c --status) \
        || fail "$bundle missing from $vendor or not matching SHA256SUMS" || exit 1
      # A bare clone (it has a HEAD, which cargo's fetch asks for) of the bundle.
      local mirror="$CACHE/git/${bundle%.bundle}.git"
      rm -rf "$mirror"
      run_step "clone bundle" git clone --quiet --bare \
        --branch "$(field "$name" git_bundle_branch)" "$vendor/$bundle" "$mirror" \
        || fail "cannot clone $bundle" || exit 1
      export "GIT_CONFIG_KEY_$i=url.file://$mirror.insteadOf" "GIT_CONFIG_VALUE_$i=$url"
      i=$((i + 1))
    done
    export GIT_CONFIG_COUNT=$i
    cd "$SRC/myceliumd" || exit 1
    run_step "cargo build" timeout "$BUILD_TIMEOUT" cargo build --release --locked \
      || fail "cargo build --release --locked in myceliumd/ failed" || exit 1
    mkdir -p "$stage/bin" && cp "$CARGO_TARGET_DIR/release/mycelium" "$stage/bin/"
  )
}

vendor_hyprspace() {
  command -v go >/dev/null || { step=toolchain; fail "'go' not on PATH"; return; }
  (
    go_env local
    cd "$SRC" || exit 1
    run_step "generate schema" "$repo/scripts/hyprspace/generate-schema.sh" "$SRC" \
      || fail "could not generate schema/config_generated.go" || exit 1
    run_step "go build" timeout "$BUILD_TIMEOUT" go build -trimpath \
      -ldflags "-X github.com/hyprspace/hyprspace/cli.appVersion=$version" -o "$stage/bin/hyprspace" . \
      || fail "go build failed (dependencies from the Go proxy)" || exit 1
  )
}

link_binaries() {
  local b
  for b in $(field "$name" binaries); do
    ln -sfn "../$name-$version/bin/$b" "$BIN/$b"
  done
}

present() { # all binaries of the current build in dest
  [[ -f "$dest/.complete" ]] || return 1
  local b; for b in $(field "$name" binaries); do [[ -x "$dest/bin/$b" ]] || return 1; done
}

failures=()
count=${#selected[@]}
i=0
started=$SECONDS
say "prefix $prefix; vendor $vendor; $count builds: ${selected[*]}"
for name in "${selected[@]}"; do
  i=$((i + 1))
  version=$(field "$name" version)
  source=$(field "$name" source)
  dest="$prefix/$name-$version"
  log="$LOGS/$name-$version.log"
  if [[ "$source" == pypi ]]; then
    say "($i/$count) $name $version: from PyPI into the harness's Python (make setup), nothing to build"
    continue
  fi
  if [[ $force -eq 0 ]] && present; then
    link_binaries; rm -f "$FAILED/$name.json"
    say "($i/$count) $name $version: already built in $dest"
    continue
  fi
  say "($i/$count) $name $version: building from $source (log: $log)"
  stage="$prefix/.stage/$name-$version"
  rm -rf "$stage"; mkdir -p "$stage/bin"; : >"$log"
  t0=$SECONDS
  if "build_$source"; then
    missing=""
    for b in $(field "$name" binaries); do [[ -x "$stage/bin/$b" ]] || missing+=" $b"; done
    if [[ -n "$missing" ]]; then
      step=install; fail "build finished without:$missing" || failures+=("$name")
      continue
    fi
    printf '%s %s %s\n' "$(field "$name" implementation)" "$version" "$(date -u +%FT%TZ)" >"$stage/.complete"
    rm -rf "$dest"; mv "$stage" "$dest"
    link_binaries; rm -f "$FAILED/$name.json"
    say "($i/$count) $name $version: built in $((SECONDS - t0))s"
    printf '%s\t%s\t%s\n' "$name" "$version" "$((SECONDS - t0))" >>"$LOGS/build-times.tsv"
  else
    failures+=("$name")
  fi
done
for name in "${selected[@]}"; do rm -rf "$prefix/.stage/$name-$(field "$name" version)"; done
rmdir "$prefix/.stage" 2>/dev/null
if [[ ${#failures[@]} -gt 0 ]]; then
  say "done in $((SECONDS - started))s; FAILED: ${failures[*]} (reasons in $FAILED/, the harness lists these VPNs as not runnable)"
  exit 1
fi
say "done in $((SECONDS - started))s; binaries in $BIN"
exit 0
}
