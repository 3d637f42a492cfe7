"""Which VPNs ``vpn-bench keys`` makes material for, and parsing ``--vpn``."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from harness.errors import UsageError
from harness.keys import easytier, hyprspace, nebula, tinc, vpncloud, wireguard, yggdrasil
from harness.keys.files import KeyFile, KeyRequest
from harness.vpns.base import BinaryRequirement


@dataclass(frozen=True)
class Generator:
    vpn: str
    tools: tuple[BinaryRequirement, ...]
    generate: Callable[[KeyRequest], list[KeyFile]]


GENERATORS: dict[str, Generator] = {generator.vpn: generator for generator in (
    Generator(wireguard.VPN, wireguard.TOOLS, wireguard.generate),
    Generator(nebula.VPN, nebula.TOOLS, nebula.generate),
    Generator(tinc.VPN, tinc.TOOLS, tinc.generate),
    Generator(vpncloud.VPN, vpncloud.TOOLS, vpncloud.generate),
    Generator(hyprspace.VPN, hyprspace.TOOLS, hyprspace.generate),
    Generator(easytier.VPN, easytier.TOOLS, easytier.generate),
    Generator(yggdrasil.VPN, yggdrasil.TOOLS, yggdrasil.generate),
)}

#: VPNs of vpn-configs whose material comes from elsewhere (docs/secrets.md says where).
NOT_MADE_HERE = {
    "mycelium": "mycelium writes its key file on the host at first start",
    "headscale": "the coordinator makes the pre-auth key at run time",
    "zerotier": "zerotier-one makes node identities on the host at first start",
    "internal": "it has no key material",
}


def select_vpns(requested: Iterable[str]) -> list[str]:
    """Comma lists or repeated names, ``all`` or nothing for every VPN; order of GENERATORS."""
    names = [name.strip() for item in requested for name in item.split(",") if name.strip()]
    valid = ", ".join(GENERATORS)
    for name in names:
        if name == "all":
            continue
        if name in NOT_MADE_HERE:
            raise UsageError(f"vpn-bench keys makes nothing for {name!r}: {NOT_MADE_HERE[name]} "
                             f"(docs/secrets.md); valid: {valid}, all")
        if name not in GENERATORS:
            raise UsageError(f"unknown VPN {name!r}; valid: {valid}, all")
    if not names or "all" in names:
        return list(GENERATORS)
    return [vpn for vpn in GENERATORS if vpn in names]
