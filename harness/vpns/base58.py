"""Base58 (Bitcoin alphabet, "base58btc"): libp2p peer IDs and multibase ``z`` keys use it."""

from __future__ import annotations

ALPHABET = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
_VALUES = {char: value for value, char in enumerate(ALPHABET)}


def encode(data: bytes) -> str:
    """Leading zero bytes become leading ``1`` characters, the rest a base-58 number."""
    number = int.from_bytes(data, "big")
    digits = []
    while number:
        number, rest = divmod(number, 58)
        digits.append(ALPHABET[rest])
    zeros = len(data) - len(data.lstrip(b"\0"))
    return "1" * zeros + "".join(reversed(digits))


def decode(text: str) -> bytes:
    """Inverse of :func:`encode`; a character outside the alphabet is a ValueError."""
    number = 0
    for char in text:
        if char not in _VALUES:
            raise ValueError(f"{char!r} is not a base58 character")
        number = number * 58 + _VALUES[char]
    zeros = len(text) - len(text.lstrip("1"))
    body = number.to_bytes((number.bit_length() + 7) // 8, "big") if number else b""
    return b"\0" * zeros + body
