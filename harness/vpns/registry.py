"""Every VPN the benchmark knows, by the name used on the command line and in vpn-configs."""

from __future__ import annotations

from harness.settings.models import VpnSettings
from harness.vpns.base import VpnAdapter
from harness.vpns.easytier import EasyTierAdapter
from harness.vpns.headscale import HeadscaleAdapter
from harness.vpns.hyprspace import HyprspaceAdapter
from harness.vpns.internal import InternalAdapter
from harness.vpns.mycelium import MyceliumAdapter
from harness.vpns.nebula import NebulaAdapter
from harness.vpns.tinc import TincAdapter
from harness.vpns.vpncloud import VpnCloudAdapter
from harness.vpns.wireguard import WireGuardAdapter
from harness.vpns.yggdrasil import YggdrasilAdapter
from harness.vpns.zerotier import ZeroTierAdapter

ADAPTERS: dict[str, type[VpnAdapter]] = {
    adapter.name: adapter
    for adapter in (
        InternalAdapter,
        WireGuardAdapter,
        TincAdapter,
        NebulaAdapter,
        YggdrasilAdapter,
        HeadscaleAdapter,
        VpnCloudAdapter,
        EasyTierAdapter,
        ZeroTierAdapter,
        MyceliumAdapter,
        HyprspaceAdapter,  # reports why it cannot run offline (see its module)
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
