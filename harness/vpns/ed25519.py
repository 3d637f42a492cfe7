"""Raw Ed25519 keys through openssl on a Host (no Python crypto library is installed).

The DER wrappers below are fixed: PKCS#8 v1 and SubjectPublicKeyInfo (RFC 8410), so the
raw 32 bytes are what follows a known prefix.
"""

from __future__ import annotations

from pathlib import PurePosixPath

from harness.hosts.base import Host
from harness.vpns.material import KeyMaterialError, run_tool

ED25519_PKCS8_PREFIX = bytes.fromhex("302e020100300506032b657004220420")
ED25519_SPKI_PREFIX = bytes.fromhex("302a300506032b6570032100")
RAW_KEY_BYTES = 32


def unwrap(der: bytes, prefix: bytes, what: str) -> bytes:
    """The raw key after ``prefix``; anything else means openssl wrote another structure."""
    if len(der) != len(prefix) + RAW_KEY_BYTES or not der.startswith(prefix):
        raise KeyMaterialError(f"openssl wrote an unexpected {what} ({der.hex()[:24]}...)")
    return der[len(prefix):]


def generate_ed25519(host: Host, workdir: PurePosixPath) -> tuple[bytes, bytes]:
    """(seed, public key) of a fresh Ed25519 key made by openssl on ``host`` in ``workdir``."""
    pem, private, public = (workdir / name for name in ("ed25519.pem", "private.der",
                                                        "public.der"))
    try:
        run_tool(host, ["openssl", "genpkey", "-algorithm", "ed25519", "-out", str(pem)])
        run_tool(host, ["openssl", "pkey", "-in", str(pem), "-outform", "DER",
                        "-out", str(private)])
        run_tool(host, ["openssl", "pkey", "-in", str(pem), "-pubout", "-outform", "DER",
                        "-out", str(public)])
        private_der, public_der = host.read_file(private), host.read_file(public)
    finally:
        host.run(["rm", "-f", "--", str(pem), str(private), str(public)], timeout=10)
    return (unwrap(private_der, ED25519_PKCS8_PREFIX, "Ed25519 private key"),
            unwrap(public_der, ED25519_SPKI_PREFIX, "Ed25519 public key"))
