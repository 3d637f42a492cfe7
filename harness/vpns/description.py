"""The one description of a VPN: what its module exports for :mod:`harness.vpns.registry`.

Per-VPN *data* (ports, subnets, interface, options shared with the NixOS module) stays in
``vpn-configs/vpns/<name>.toml``; this pairs it with the code: the adapter (which carries its
binary requirements), the key generation of ``vpn-bench keys``, and how figures show it.
"""

from __future__ import annotations

from dataclasses import dataclass

from harness.vpns.base import BinaryRequirement, VpnAdapter
from harness.vpns.material import KeyGeneration


@dataclass(frozen=True)
class VpnDescription:
    """Everything the harness, ``vpn-bench keys`` and the analysis know about one VPN."""

    adapter: type[VpnAdapter]
    #: Colour in every figure (fixed per VPN so it is the same across reports).
    colour: str
    #: Site key material made by ``vpn-bench keys``; None with ``keys_elsewhere`` saying why.
    keys: KeyGeneration | None = None
    keys_elsewhere: str | None = None
    #: Names this VPN had in older results (they get its colour in figures).
    aliases: tuple[str, ...] = ()
    #: The no-VPN baseline every VPN is compared with (exactly one VPN sets this).
    reference: bool = False

    def __post_init__(self) -> None:
        if (self.keys is None) == (self.keys_elsewhere is None):
            raise ValueError(f"{self.name}: set exactly one of keys and keys_elsewhere")

    @property
    def name(self) -> str:
        """The name on the command line and of ``vpn-configs/vpns/<name>.toml``."""
        return self.adapter.name

    @property
    def requirements(self) -> tuple[BinaryRequirement, ...]:
        """Every program this VPN may use: the adapter's (alternatives too) and key tools."""
        tools = self.keys.tools if self.keys else ()
        every = (*self.adapter.requirements, *self.adapter.alternatives, *tools)
        seen = {req.binary: req for req in every}
        return tuple(seen.values())
