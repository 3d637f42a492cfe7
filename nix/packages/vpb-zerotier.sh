# vpb-zerotier: the run-time steps of a self-hosted ZeroTier network without the public root
# servers, arranged as the harness's adapter does offline (harness/vpns/zerotier.py): the
# coordinator is a moon (a private root, made with zerotier-idtool initmoon/genmoon, its LAN
# address as stable endpoint) whose moon file every other host loads from moons.d, so no node
# needs ZeroTier's public planet roots to learn the others' identities; local.conf gives each
# peer's direct path and turns off port mapping, the secondary port, the TCP fallback relay (a
# ZeroTier-hosted server) and software updates; the coordinator's own zerotier-one is the
# network controller, configured over its local API. ZeroTier node IDs exist only once
# zerotier-one has generated its identity on the host, so the harness (or the VM test) runs
# these steps on the hosts instead of the Nix evaluation knowing them. Wrapped by
# nix/packages/vpb-zerotier.nix, which sets ZT_PORT, ZT_SUBNET, ZT_INTERFACE and
# ZT_NETWORK_SUFFIX from vpn-configs.
#
#   vpb-zerotier node-id
#   vpb-zerotier make-moon ADDRESS                  (coordinator) prints "FILE BASE64" of its moon
#   vpb-zerotier add-moon FILE BASE64               (others) installs that moon file
#   vpb-zerotier create-network                     (controller) prints the network ID
#   vpb-zerotier authorize NETWORK MEMBER ADDRESS    (controller) admits MEMBER with ADDRESS
#   vpb-zerotier join NETWORK [PEER_ID@UNDERLAY ...] joins, with path hints to the peers
#   vpb-zerotier wait NETWORK [SECONDS]              waits until the network is OK
#
# Exit codes: 0 done, 1 ZeroTier refused or timed out, 2 bad arguments.

home=${ZT_HOME:-/var/lib/zerotier-one} # ZT_HOME: for tests only
api="http://127.0.0.1:${ZT_PORT}"

usage() {
  cat >&2 <<'EOF'
usage: vpb-zerotier node-id
       vpb-zerotier make-moon ADDRESS
       vpb-zerotier add-moon FILE BASE64
       vpb-zerotier create-network
       vpb-zerotier authorize NETWORK MEMBER ADDRESS
       vpb-zerotier join NETWORK [PEER_ID@UNDERLAY ...]
       vpb-zerotier wait NETWORK [SECONDS]
EOF
  exit 2
}

die() {
  echo "vpb-zerotier: $*" >&2
  exit 1
}

token() {
  [ -r "$home/authtoken.secret" ] || die "$home/authtoken.secret not readable; is zerotierone.service running (and are you root)?"
  cat "$home/authtoken.secret"
}

call() { # METHOD PATH [JSON]; retried: the local API is briefly down after a restart
  local method=$1 path=$2 body=${3:-} args
  args=(--fail --silent --show-error --max-time 10 -X "$method" -H "X-ZT1-Auth: $(token)")
  if [ -n "$body" ]; then
    args+=(-H 'Content-Type: application/json' --data "$body")
  fi
  for _ in $(seq 1 30); do
    if curl "${args[@]}" "$api$path"; then return 0; fi
    sleep 1
  done
  return 1
}

node_id() {
  local id
  for _ in $(seq 1 60); do
    if [ -s "$home/identity.public" ]; then
      id=$(cut -d: -f1 "$home/identity.public")
      if [[ "$id" =~ ^[0-9a-f]{10}$ ]]; then
        echo "$id"
        return 0
      fi
    fi
    sleep 1
  done
  die "no identity in $home/identity.public after 60 s"
}

check_network_id() {
  [[ "$1" =~ ^[0-9a-f]{16}$ ]] || { echo "vpb-zerotier: '$1' is not a 16-hex-digit network ID" >&2; exit 2; }
}

make_moon() {
  if [ $# -ne 1 ] || [ -z "$1" ]; then usage; fi
  local dir file
  node_id >/dev/null
  dir=$(mktemp -d)
  zerotier-idtool initmoon "$home/identity.public" \
    | jq --arg endpoint "$1/${ZT_PORT}" '.roots[0].stableEndpoints = [$endpoint]' >"$dir/moon.json" \
    || die "zerotier-idtool initmoon failed"
  (cd "$dir" && zerotier-idtool genmoon moon.json >/dev/null) || die "zerotier-idtool genmoon failed"
  file=$(cd "$dir" && ls -1 -- *.moon)
  [[ "$file" =~ ^[0-9a-f]{16}\.moon$ ]] || die "genmoon wrote '${file:-nothing}', not one <world id>.moon"
  printf '%s %s\n' "$file" "$(base64 -w0 "$dir/$file")"
  rm -rf "$dir"
}

add_moon() {
  [ $# -eq 2 ] || usage
  [[ "$1" =~ ^[0-9a-f]{16}\.moon$ ]] || { echo "vpb-zerotier: '$1' is not a <16-hex-digit world id>.moon file name" >&2; exit 2; }
  install -d -m 0700 "$home/moons.d"
  printf '%s' "$2" | base64 -d >"$home/moons.d/$1.tmp" || { rm -f "$home/moons.d/$1.tmp"; echo "vpb-zerotier: the moon is not base64" >&2; exit 2; }
  mv "$home/moons.d/$1.tmp" "$home/moons.d/$1"
}

create_network() {
  local nwid body
  nwid="$(node_id)${ZT_NETWORK_SUFFIX}"
  body=$(jq -cn --arg subnet "$ZT_SUBNET" '{
    name: "vpn-bench", private: true,
    v4AssignMode: {zt: false}, v6AssignMode: {zt: false, rfc4193: false, "6plane": false},
    ipAssignmentPools: [], routes: [{target: $subnet, via: null}]
  }')
  call POST "/controller/network/$nwid" "$body" >/dev/null || die "the controller did not create network $nwid (is this the coordinator, built with enableUnfree?)"
  echo "$nwid"
}

authorize() {
  [ $# -eq 3 ] || usage
  check_network_id "$1"
  [[ "$2" =~ ^[0-9a-f]{10}$ ]] || { echo "vpb-zerotier: '$2' is not a 10-hex-digit node ID" >&2; exit 2; }
  local body
  body=$(jq -cn --arg ip "$3" '{authorized: true, ipAssignments: [$ip]}')
  call POST "/controller/network/$1/member/$2" "$body" >/dev/null || die "could not authorize $2 in $1"
}

join() {
  [ $# -ge 1 ] || usage
  local nwid=$1 conf="$home/local.conf" hint id addr tmp
  check_network_id "$nwid"
  shift
  tmp=$(mktemp)
  if [ -s "$conf" ] && [ ! -L "$conf" ]; then cp "$conf" "$tmp"; else echo '{}' >"$tmp"; fi
  # Offline settings (the module's localConf option is not used: its preStart would replace
  # this file, and so the path hints, by a store symlink at the restart below).
  jq --argjson port "${ZT_PORT}" '.settings = ((.settings // {}) + {
    primaryPort: $port, allowSecondaryPort: false, portMappingEnabled: false,
    allowTcpFallbackRelay: false, softwareUpdate: "disable"})' "$tmp" >"$tmp.new"
  mv "$tmp.new" "$tmp"
  for hint in "$@"; do
    id=${hint%%@*}
    addr=${hint#*@}
    [[ "$id" =~ ^[0-9a-f]{10}$ && -n "$addr" && "$addr" != "$hint" ]] || { echo "vpb-zerotier: hint '$hint' is not NODE_ID@UNDERLAY_ADDRESS" >&2; exit 2; }
    jq --arg id "$id" --arg path "$addr/${ZT_PORT}" \
      '.virtual[$id].try = ((.virtual[$id].try // []) + [$path] | unique)' "$tmp" >"$tmp.new"
    mv "$tmp.new" "$tmp"
  done
  rm -f "$conf"
  install -m 0600 "$tmp" "$conf"
  rm -f "$tmp"
  # Interface name from vpn-configs instead of zt<hash>.
  touch "$home/devicemap"
  grep -v "^$nwid=" "$home/devicemap" >"$home/devicemap.new" || true
  echo "$nwid=${ZT_INTERFACE}" >>"$home/devicemap.new"
  mv "$home/devicemap.new" "$home/devicemap"
  systemctl restart zerotierone.service
  for _ in $(seq 1 30); do
    if zerotier-cli -p"${ZT_PORT}" info >/dev/null 2>&1; then break; fi
    sleep 1
  done
  zerotier-cli -p"${ZT_PORT}" join "$nwid" >/dev/null || die "zerotier-cli join $nwid failed"
}

wait_ok() {
  [ $# -ge 1 ] || usage
  check_network_id "$1"
  local limit=${2:-120} status
  for _ in $(seq 1 "$limit"); do
    status=$(zerotier-cli -p"${ZT_PORT}" -j listnetworks 2>/dev/null | jq -r --arg n "$1" '.[] | select(.nwid == $n) | .status' || true)
    if [ "$status" = "OK" ]; then return 0; fi
    sleep 1
  done
  die "network $1 not OK after $limit s (last status: ${status:-none})"
}

[ $# -ge 1 ] || usage
command=$1
shift
case "$command" in
  node-id) node_id ;;
  make-moon) make_moon "$@" ;;
  add-moon) add_moon "$@" ;;
  create-network) create_network ;;
  authorize) authorize "$@" ;;
  join) join "$@" ;;
  wait) wait_ok "$@" ;;
  *) echo "vpb-zerotier: unknown command '$command' (valid: node-id, make-moon, add-moon, create-network, authorize, join, wait)" >&2; exit 2 ;;
esac
