"""Hyprspace 0.15.0: a libp2p mesh where every host lists every other host's peer ID.

A peer is configured by its ID only; addresses are found by discovery. Offline, two ways
work (read from upstream v0.15.0, ``node/node.go``, ``p2p/node.go``, ``p2p/discover.go``,
``p2p/pex.go``):

* mDNS on the LAN (on unless ``filterPrivateAddresses``): peers that are in the config are
  connected as soon as they answer;
* a local bootstrap peer: every host but the coordinator bootstraps its DHT from the
  coordinator's LAN multiaddr (``/ip4/<lan>/tcp/<port>/p2p/<id>``); once connected to it,
  peer exchange and the DHT give the other hosts' addresses.

Each alone forms the full overlay on the local testbed within a second (checked: with every
``bootstrapPeers`` empty each daemon logs two mDNS discoveries; with multicast switched off on
the LAN interfaces none, and yuki and luna still reach each other through the coordinator).

``bootstrapPeers`` is always written (empty on the coordinator): without it the generated
config code fills in upstream's public bootstrap nodes. The delegated HTTP router
(``https://p2p.privatevoid.net``) is hard-coded and cannot be turned off; on a testbed with
no route out its lookups just fail, and nothing leaves the testbed.

Each host gets its own interface name (``<interface><index>``): the control socket is
``/run/hyprspace-rpc.<interface>.sock`` and the lock file sits next to the config, so two
daemons on one filesystem must not share the name. Overlay addresses are the ones Hyprspace
derives from each peer ID (``builtin_ipv4``); keys are made by openssl on the host in the
libp2p encoding ``hyprspace init`` writes.
"""

from __future__ import annotations

import json
from functools import partial

from harness.settings.addressing import coordinator
from harness.settings.models import VpnSettings
from harness.vpns import base58
from harness.vpns.base import (
    BinaryRequirement,
    VpnAdapter,
    VpnContext,
    VpnError,
    interface_exists,
)
from harness.vpns.description import VpnDescription
from harness.vpns.ed25519 import RAW_KEY_BYTES, generate_ed25519
from harness.vpns.material import (
    OPENSSL,
    KeyFile,
    KeyGeneration,
    KeyRequest,
    PrivateFile,
    PublicFile,
    file_text,
)
from harness.waiting import wait_until

HYPRSPACE = BinaryRequirement("hyprspace", nix="hyprspace", version_args=("version",),
                              daemon=True)

# -- keys: a libp2p Ed25519 identity per host, encoded as ``hyprspace init`` writes it ------
# Private key: multibase base58btc (``z``) of the libp2p protobuf PrivateKey, whose data is
# Go's 64-byte ed25519.PrivateKey (seed || public). Peer ID: base58 of the identity multihash
# of the protobuf PublicKey (short keys are inlined, hence the ``12D3KooW`` prefix).

ED25519_KEY_TYPE = 1  # libp2p crypto.pb KeyType
IDENTITY_MULTIHASH = 0x00
MULTIBASE_BASE58BTC = "z"


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte, value = value & 0x7F, value >> 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def libp2p_key_protobuf(data: bytes) -> bytes:
    """protobuf {1: KeyType = Ed25519, 2: Data = data}."""
    return bytes([0x08, ED25519_KEY_TYPE, 0x12]) + _varint(len(data)) + data


def private_key_text(seed: bytes, public: bytes) -> str:
    return MULTIBASE_BASE58BTC + base58.encode(libp2p_key_protobuf(seed + public))


def peer_id(public: bytes) -> str:
    encoded = libp2p_key_protobuf(public)
    return base58.encode(bytes([IDENTITY_MULTIHASH]) + _varint(len(encoded)) + encoded)


def parse_private_key(text: str) -> tuple[bytes, bytes]:
    """(seed, public) from a ``privateKey`` value; ValueError if it is not an Ed25519 key."""
    text = text.strip()
    if not text.startswith(MULTIBASE_BASE58BTC):
        raise ValueError("hyprspace private key must start with 'z' (multibase base58btc)")
    raw = base58.decode(text[1:])
    header = libp2p_key_protobuf(bytes(2 * RAW_KEY_BYTES))[:-2 * RAW_KEY_BYTES]
    if len(raw) != len(header) + 2 * RAW_KEY_BYTES or not raw.startswith(header):
        raise ValueError("hyprspace private key is not a libp2p Ed25519 private key")
    key = raw[len(header):]
    return key[:RAW_KEY_BYTES], key[RAW_KEY_BYTES:]


def generate_keys(request: KeyRequest) -> list[KeyFile]:
    """Site material: ``secrets/<host>/hyprspace/private.key``, ``public/hyprspace/<host>.id``."""
    vpn = HyprspaceAdapter.name
    files: list[KeyFile] = []
    for host in request.hosts:
        seed, public = generate_ed25519(request.machine, request.workdir)
        files.append(PrivateFile(host, vpn, "private.key", file_text(private_key_text(seed,
                                                                                      public))))
        files.append(PublicFile(vpn, f"{host}.id", file_text(peer_id(public))))
    return files


def builtin_ipv4(peer_id: str) -> str:
    """The 100.64.x.y address Hyprspace derives from a peer ID (config/idhash.go): the bytes of
    the decoded ID are XOR-folded into the last two octets of 100.64.1.2."""
    octets = [100, 64, 1, 2]
    for index, byte in enumerate(base58.decode(peer_id)):
        octets[2 + index % 2] ^= byte
    return ".".join(str(octet) for octet in octets)


def ip_component(address: str) -> str:
    """The multiaddr prefix of an IP address (``/ip4/a.b.c.d`` or ``/ip6/...``)."""
    return f"/ip6/{address}" if ":" in address else f"/ip4/{address}"


def render_config(*, private_key: str, listen: str, port: int, bootstrap: list[str],
                  peers: dict[str, str]) -> str:
    """Hyprspace's JSON config; ``peers`` maps host names to peer IDs, ``bootstrap`` lists
    multiaddrs (never left out: the default is upstream's public bootstrap nodes)."""
    config = {
        "listenAddresses": [f"{ip_component(listen)}/tcp/{port}",
                            f"{ip_component(listen)}/udp/{port}/quic-v1"],
        "bootstrapPeers": bootstrap,
        "privateKey": private_key,
        "peers": [{"id": peer_id, "name": name} for name, peer_id in peers.items()],
        "services": {},
    }
    return json.dumps(config, indent=2) + "\n"


def bootstrap_address(lan: str, port: int, peer: str) -> str:
    """The libp2p multiaddr of a host's TCP listener, with its peer ID."""
    return f"{ip_component(lan)}/tcp/{port}/p2p/{peer}"


def interface_names(base: str, hosts: list[str]) -> dict[str, str]:
    """One interface name per host (IFNAMSIZ: at most 15 characters)."""
    return {host: f"{base[:15 - len(str(index))]}{index}" for index, host in enumerate(hosts)}


class HyprspaceAdapter(VpnAdapter):
    """Every host peers with every other; discovery through mDNS and the coordinator."""

    name = "hyprspace"
    requirements = (HYPRSPACE,)
    #: libp2p discovery and the DHT take a while on a loaded machine.
    ready_timeout_s = 120.0

    def __init__(self, settings: VpnSettings) -> None:
        super().__init__(settings)
        #: Host name -> peer ID, known once deploy made the keys.
        self.ids: dict[str, str] = {}

    def overlay_addresses(self, ctx: VpnContext) -> dict[str, str]:
        return {name: builtin_ipv4(peer) for name, peer in self.ids.items()}

    def deploy(self, ctx: VpnContext) -> None:
        port = self.settings.port()
        root = coordinator(self.settings, ctx.hosts)
        interfaces = interface_names(self.settings.interface or "hyprspace", ctx.hosts)
        keys: dict[str, str] = {}
        self.ids = {}
        for name in ctx.hosts:
            host = ctx.host(name)
            key_dir = ctx.workdir(host) / "keys"
            host.make_dir(key_dir)
            seed, public = generate_ed25519(host, key_dir)
            keys[name], self.ids[name] = private_key_text(seed, public), peer_id(public)
        addresses = self.overlay_addresses(ctx)
        if len(set(addresses.values())) != len(addresses):  # 1 in ~65000 per pair
            raise VpnError(f"two peer IDs map to the same Hyprspace address: {addresses}")
        seed_peer = bootstrap_address(ctx.testbed.lan_address(root), port, self.ids[root])
        for name in ctx.hosts:
            host = ctx.host(name)
            path = ctx.workdir(host) / "hyprspace.json"
            host.write_file(path, render_config(
                private_key=keys[name], listen=ctx.testbed.lan_address(name), port=port,
                bootstrap=[] if name == root else [seed_peer],
                peers={peer: self.ids[peer] for peer in ctx.hosts if peer != name},
            ))
            ctx.start(host, ["hyprspace", "up", "-c", str(path), "-i", interfaces[name]],
                      name="hyprspace")
        for name in ctx.hosts:
            host = ctx.host(name)
            wait_until(partial(interface_exists, host, interfaces[name]), timeout_s=30,
                       what=f"{interfaces[name]} on {name}", abort=lambda: self.dead_daemons(ctx))


VPN = VpnDescription(adapter=HyprspaceAdapter, colour="#6A3D9A",
                     keys=KeyGeneration(tools=(OPENSSL,), generate=generate_keys))
