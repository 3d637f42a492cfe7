"""Raw Ed25519 and X25519 keys through openssl (no Python crypto library is installed).

The DER wrappers below are fixed: PKCS#8 v1 and SubjectPublicKeyInfo for the two curves
(RFC 8410), so the raw 32 bytes are what follows a known prefix.
"""

from __future__ import annotations

from pathlib import Path

from harness.keys.tools import KeyMaterialError, run_bytes

ED25519_PKCS8_PREFIX = bytes.fromhex("302e020100300506032b657004220420")
ED25519_SPKI_PREFIX = bytes.fromhex("302a300506032b6570032100")
X25519_PKCS8_PREFIX = bytes.fromhex("302e020100300506032b656e04220420")
X25519_SPKI_PREFIX = bytes.fromhex("302a300506032b656e032100")
RAW_KEY_BYTES = 32


def unwrap(der: bytes, prefix: bytes, what: str) -> bytes:
    """The raw key after ``prefix``; anything else means openssl wrote another structure."""
    if len(der) != len(prefix) + RAW_KEY_BYTES or not der.startswith(prefix):
        raise KeyMaterialError(f"openssl wrote an unexpected {what} ({der.hex()[:24]}...)")
    return der[len(prefix):]


def generate_ed25519(workdir: Path) -> tuple[bytes, bytes]:
    """(seed, public key) of a fresh Ed25519 key."""
    pem = workdir / "ed25519.pem"
    run_bytes(["openssl", "genpkey", "-algorithm", "ed25519", "-out", str(pem)])
    try:
        private_der = run_bytes(["openssl", "pkey", "-in", str(pem), "-outform", "DER"])
        public_der = run_bytes(["openssl", "pkey", "-in", str(pem), "-pubout", "-outform", "DER"])
    finally:
        pem.unlink()
    return (unwrap(private_der, ED25519_PKCS8_PREFIX, "Ed25519 private key"),
            unwrap(public_der, ED25519_SPKI_PREFIX, "Ed25519 public key"))


def public_from_seed(seed: bytes, *, curve: str = "ed25519") -> bytes:
    """The public key openssl derives from a raw private key (``ed25519`` or ``x25519``)."""
    pkcs8, spki = {"ed25519": (ED25519_PKCS8_PREFIX, ED25519_SPKI_PREFIX),
                   "x25519": (X25519_PKCS8_PREFIX, X25519_SPKI_PREFIX)}[curve]
    der = run_bytes(["openssl", "pkey", "-inform", "DER", "-pubout", "-outform", "DER"],
                    stdin=pkcs8 + seed)
    return unwrap(der, spki, f"{curve} public key")
