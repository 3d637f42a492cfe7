"""Hyprspace: what can be done faithfully, and why its adapter only reports that it cannot run.

Hyprspace cannot be obtained here (the Go module proxy refuses the module), and, more to the
point, its released versions cannot peer inside an offline testbed without contacting public
infrastructure, which the benchmark forbids. From the upstream source (hyprspace/hyprspace,
``p2p/node.go``, ``p2p/discover.go``, ``p2p/pex.go``, ``config/config.go``):

* a peer is configured by its libp2p peer ID only (``peers: [{id, name, routes}]``); there is
  no field for a peer's address;
* addresses are found through the libp2p DHT, bootstrapped from a hard-coded list of public
  nodes (including ``bootstrap.libp2p.io``), and through a delegated HTTP router hard-coded to
  ``https://p2p.privatevoid.net``; neither can be turned off or replaced by configuration;
* peer exchange (PeX) only works between peers that are already connected;
* the one other hook, the undocumented ``HYPRSPACE_IPFS_API`` variable, asks a running IPFS
  (Kubo) daemon for its swarm peers; emulating Kubo's API to smuggle in addresses would not
  be a faithful deployment.

So in the namespaces the peers would never learn each other's addresses (the reference runs
show Hyprspace timing out in every profile even with Internet access). The pieces below are
the parts that are certain; an adapter can use them once a release supports static peer
addresses or local discovery (newer source mentions mDNS, unreleased as far as seen).
"""

from __future__ import annotations

import json

from harness.hosts.base import Host
from harness.vpns import base58
from harness.vpns.base import BinaryRequirement, VpnAdapter, VpnContext, VpnError
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

HYPRSPACE = BinaryRequirement("hyprspace", nix="hyprspace", version_args=("version",),
                              daemon=True)

OFFLINE_BLOCKER = ("hyprspace finds peers only through public DHT bootstrap nodes and a public "
                   "delegated router; it has no setting for a peer's address")

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


def render_config(*, private_key: str, port: int, peers: dict[str, str]) -> str:
    """Hyprspace's JSON config; ``peers`` maps host names to peer IDs."""
    config = {
        "listenAddresses": [f"/ip4/0.0.0.0/tcp/{port}", f"/ip4/0.0.0.0/udp/{port}/quic-v1"],
        "privateKey": private_key,
        "peers": [{"id": peer_id, "name": name} for name, peer_id in peers.items()],
        "services": {},
    }
    return json.dumps(config, indent=2) + "\n"


class HyprspaceAdapter(VpnAdapter):
    """Listed so that `vpn-bench list` and `run --vpn hyprspace` say why it cannot run."""

    name = "hyprspace"
    requirements = (HYPRSPACE,)

    def unavailable_reason(self, host: Host) -> str | None:
        missing = super().unavailable_reason(host)
        blocker = f"cannot peer on an offline testbed: {OFFLINE_BLOCKER}"
        return f"{missing}; {blocker}" if missing else blocker

    def deploy(self, ctx: VpnContext) -> None:
        raise VpnError(self.unavailable_reason(ctx.host(ctx.hosts[0])) or OFFLINE_BLOCKER)

    def overlay_addresses(self, ctx: VpnContext) -> dict[str, str]:
        return {}


VPN = VpnDescription(adapter=HyprspaceAdapter, colour="#6A3D9A",
                     keys=KeyGeneration(tools=(OPENSSL,), generate=generate_keys))
