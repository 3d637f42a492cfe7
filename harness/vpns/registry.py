"""Every VPN the benchmark knows, by the name used on the command line and in vpn-configs."""

from __future__ import annotations

from harness.settings.models import VpnSettings
from harness.vpns.base import VpnAdapter
from harness.vpns.internal import InternalAdapter
from harness.vpns.nebula import NebulaAdapter
from harness.vpns.tinc import TincAdapter
from harness.vpns.wireguard import WireGuardAdapter
from harness.vpns.yggdrasil import YggdrasilAdapter

ADAPTERS: dict[str, type[VpnAdapter]] = {
    adapter.name: adapter
    for adapter in (
        InternalAdapter,
        WireGuardAdapter,
        TincAdapter,
        NebulaAdapter,
        YggdrasilAdapter,
    )
}


def create_adapter(settings: VpnSettings) -> VpnAdapter:
    try:
        return ADAPTERS[settings.name](settings)
    except KeyError:
        raise KeyError(
            f"vpn-configs defines {settings.name!r} but the harness has no adapter for it; "
            f"adapters: {', '.join(sorted(ADAPTERS))}"
        ) from None
