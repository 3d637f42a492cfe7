"""Hyprspace: a libp2p Ed25519 identity per host, encoded as ``hyprspace init`` writes it.

Private key: multibase base58btc (``z``) of the libp2p protobuf PrivateKey, whose data is
Go's 64-byte ed25519.PrivateKey (seed || public). Peer ID: base58 of the identity multihash
of the protobuf PublicKey (short keys are inlined, hence the ``12D3KooW`` prefix).
"""

from __future__ import annotations

from harness.keys import base58
from harness.keys.ed25519 import RAW_KEY_BYTES, generate_ed25519
from harness.keys.files import KeyFile, KeyRequest, PrivateFile, PublicFile, file_text
from harness.keys.tools import OPENSSL

VPN = "hyprspace"
TOOLS = (OPENSSL,)

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


def generate(request: KeyRequest) -> list[KeyFile]:
    files: list[KeyFile] = []
    for host in request.hosts:
        seed, public = generate_ed25519(request.workdir)
        private = private_key_text(seed, public)
        files.append(PrivateFile(host, VPN, "private.key", file_text(private)))
        files.append(PublicFile(VPN, f"{host}.id", file_text(peer_id(public))))
    return files
