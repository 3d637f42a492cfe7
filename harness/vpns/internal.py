"""The reference: no VPN, the benchmarks target the hosts' LAN addresses."""

from __future__ import annotations

from harness.vpns.base import VpnAdapter, VpnContext
from harness.vpns.description import VpnDescription


class InternalAdapter(VpnAdapter):
    name = "internal"
    ready_timeout_s = 10.0
    #: No daemon: nothing to restart (a reboot still re-creates the host's network).
    has_service = False

    def deploy(self, ctx: VpnContext) -> None:
        """Nothing to start: the LAN is the path under test."""

    def overlay_addresses(self, ctx: VpnContext) -> dict[str, str]:
        return {host: ctx.testbed.lan_address(host) for host in ctx.hosts}


VPN = VpnDescription(adapter=InternalAdapter, colour="#4d4d4d", reference=True,
                     keys_elsewhere="it has no key material")
