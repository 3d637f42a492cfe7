"""Every VPN the benchmark knows: the one list the CLI (run, list, keys), the analysis
(colours, the reference) and the tests read. Each entry is the ``VPN`` description its own
module exports; its per-VPN data is ``vpn-configs/vpns/<name>.toml``.

Adding a VPN: write ``harness/vpns/<name>.py`` ending in ``VPN = VpnDescription(...)`` and
add the module below (docs/architecture-vpn.md lists every file).
"""

from __future__ import annotations

from harness.settings.models import VpnSettings
from harness.vpns import (
    easytier,
    headscale,
    hyprspace,
    internal,
    mycelium,
    nebula,
    tinc,
    vpncloud,
    wireguard,
    yggdrasil,
    zerotier,
)
from harness.vpns.base import BinaryRequirement, VpnAdapter
from harness.vpns.description import VpnDescription

#: In the order the CLI and ``vpn-bench keys`` list them.
VPNS: dict[str, VpnDescription] = {module.VPN.name: module.VPN for module in (
    internal,
    wireguard,
    tinc,
    nebula,
    yggdrasil,
    headscale,
    vpncloud,
    easytier,
    zerotier,
    mycelium,
    hyprspace,
)}

ADAPTERS: dict[str, type[VpnAdapter]] = {name: vpn.adapter for name, vpn in VPNS.items()}

_REFERENCES = [vpn for vpn in VPNS.values() if vpn.reference]
if len(_REFERENCES) != 1:
    raise RuntimeError(f"exactly one VPN must be the reference, found {len(_REFERENCES)}")
#: The no-VPN baseline every VPN is compared with.
REFERENCE: VpnDescription = _REFERENCES[0]


def create_adapter(settings: VpnSettings) -> VpnAdapter:
    try:
        return ADAPTERS[settings.name](settings)
    except KeyError:
        raise KeyError(
            f"vpn-configs defines {settings.name!r} but the harness has no adapter for it; "
            f"adapters: {', '.join(sorted(ADAPTERS))}"
        ) from None


def by_name_or_alias(name: str) -> VpnDescription | None:
    """The VPN called ``name`` (case-insensitive), also under an older name; else None."""
    wanted = name.lower()
    for vpn in VPNS.values():
        if wanted == vpn.name or wanted in vpn.aliases:
            return vpn
    return None


def with_keys() -> list[VpnDescription]:
    """VPNs whose site material ``vpn-bench keys`` makes, in registry order."""
    return [vpn for vpn in VPNS.values() if vpn.keys is not None]


def daemon_names() -> set[str]:
    """Process names of every VPN daemon (for leftover checks)."""
    return {req.binary for vpn in VPNS.values() for req in vpn.requirements if req.daemon}


def all_requirements() -> list[BinaryRequirement]:
    """Every program any VPN may use, each once."""
    seen = {req.binary: req for vpn in VPNS.values() for req in vpn.requirements}
    return list(seen.values())
