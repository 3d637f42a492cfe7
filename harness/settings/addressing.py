"""Address plans: pure functions shared (by definition, not code) with ``modules/lib``."""

from __future__ import annotations

import ipaddress

from harness.settings.models import TestbedSettings, VpnSettings


def nth_address(subnet: str, host_number: int) -> str:
    """The ``host_number``-th address of ``subnet`` (1 = first usable)."""
    network = ipaddress.ip_network(subnet)
    if not 0 < host_number < network.num_addresses - (1 if network.version == 4 else 0):
        raise ValueError(f"{subnet} has no host number {host_number}")
    return str(network.network_address + host_number)


def lan_address(testbed: TestbedSettings, hosts: list[str], host: str) -> str:
    """LAN address of ``host`` on the local testbed: host number = ring index + 1."""
    return nth_address(testbed.lan.subnet, hosts.index(host) + 1)


def static_overlay_address(vpn: VpnSettings, hosts: list[str], host: str) -> str:
    """Overlay address of ``host`` for a VPN with a static address plan."""
    if vpn.addressing.mode != "static" or vpn.addressing.subnet is None:
        raise ValueError(f"{vpn.name} has no static address plan ({vpn.addressing.mode})")
    return nth_address(vpn.addressing.subnet, hosts.index(host) + 1)


def prefix_length(vpn: VpnSettings) -> int:
    if vpn.addressing.subnet is None:
        raise ValueError(f"{vpn.name} has no subnet")
    return ipaddress.ip_network(vpn.addressing.subnet).prefixlen


def coordinator(vpn: VpnSettings, hosts: list[str]) -> str:
    """The host with the special role; the first host when the file names one not present."""
    if vpn.coordinator is not None and vpn.coordinator in hosts:
        return vpn.coordinator
    return hosts[0]
