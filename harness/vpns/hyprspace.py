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

from harness.vpns.base import BinaryRequirement, VpnAdapter, VpnContext, VpnError

HYPRSPACE = BinaryRequirement("hyprspace", nix="hyprspace")

_BASE58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"

OFFLINE_BLOCKER = ("hyprspace finds peers only through public DHT bootstrap nodes and a public "
                   "delegated router; it has no setting for a peer's address")


def base58_decode(text: str) -> bytes:
    """Bitcoin-alphabet base58, as libp2p encodes peer IDs (``12D3KooW...``)."""
    number = 0
    for char in text:
        index = _BASE58.find(char)
        if index < 0:
            raise ValueError(f"{char!r} is not a base58 digit (in {text!r})")
        number = number * 58 + index
    body = number.to_bytes((number.bit_length() + 7) // 8, "big") if number else b""
    leading_zeros = len(text) - len(text.lstrip("1"))
    return b"\x00" * leading_zeros + body


def builtin_ipv4(peer_id: str) -> str:
    """The 100.64.x.y address Hyprspace derives from a peer ID (config/idhash.go): the bytes of
    the decoded ID are XOR-folded into the last two octets of 100.64.1.2."""
    octets = [100, 64, 1, 2]
    for index, byte in enumerate(base58_decode(peer_id)):
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
    version_argv = ("hyprspace", "version")

    def unavailable_reason(self) -> str | None:
        missing = super().unavailable_reason()
        blocker = f"cannot peer on an offline testbed: {OFFLINE_BLOCKER}"
        return f"{missing}; {blocker}" if missing else blocker

    def deploy(self, ctx: VpnContext) -> None:
        raise VpnError(self.unavailable_reason() or OFFLINE_BLOCKER)

    def overlay_addresses(self, ctx: VpnContext) -> dict[str, str]:
        return {}
