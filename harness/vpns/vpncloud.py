"""VpnCloud 2.3: full mesh of static peers, every host's public key trusted, one YAML config per
host with the private key in it (0600), so no key is on a command line. Keys: ``vpncloud
genkey`` per host (:func:`key_pair`, for deploy and ``vpn-bench keys``).

Two workarounds for 2.3.0 in network namespaces (docs/notes/extra-vpns.md, section 5):

* ``ip``/``--ip`` puts a garbled address on the device (its ioctl struct is a Rust tuple whose
  layout the compiler may reorder), so the ``ifup`` hook sets address, MTU and link state, and
  the claim is explicit with auto-claim off.
* It looks up its own address by connect()ing a UDP socket to 8.8.8.8 (nothing is sent) and
  panics when there is no route. Each host gets ``8.8.8.8/32 dev lo src <LAN address>`` while
  VpnCloud runs (the lookup repeats during housekeeping). That route cannot open a path out of
  the testbed: a route via the loopback device hands packets back to the same namespace's own
  stack, never to another interface; 8.8.8.8 is not a local address there, so they are dropped
  (a fresh namespace does not forward), and even with forwarding the only other links lead to
  the testbed's LAN bridge, whose namespace has no uplink either. The route is removed at
  teardown.
"""

from __future__ import annotations

import json
import signal

from harness.hosts.base import Host
from harness.settings.addressing import prefix_length, static_overlay_address
from harness.settings.models import VpnSettings
from harness.vpns.base import BinaryRequirement, VpnAdapter, VpnContext
from harness.vpns.description import VpnDescription
from harness.vpns.material import (
    KeyFile,
    KeyGeneration,
    KeyMaterialError,
    KeyRequest,
    PrivateFile,
    PublicFile,
    file_text,
    run_tool,
)

VPNCLOUD = BinaryRequirement("vpncloud", nix="vpncloud", daemon=True,
                             build_hint="scripts/build-vpns.sh --only vpncloud")

#: The address vpncloud's own-address lookup connects to (net.rs, get_ip).
ADDRESS_LOOKUP_TARGET = "8.8.8.8/32"
#: 1500-byte LAN minus VpnCloud's 73 bytes of overhead (what its autodetection would pick).
DEFAULT_MTU = 1427


def parse_genkey(output: str) -> tuple[str, str]:
    """(private, public) from ``vpncloud genkey``."""
    keys: dict[str, str] = {}
    for line in output.splitlines():
        label, _, value = line.partition(":")
        if value.strip():
            keys[label.strip().lower()] = value.strip()
    try:
        return keys["private key"], keys["public key"]
    except KeyError:
        raise KeyMaterialError(
            f"vpncloud genkey printed no 'Private key:'/'Public key:' lines: {output!r}"
        ) from None


def key_pair(host: Host) -> tuple[str, str]:
    """(private, public) from ``vpncloud genkey`` on ``host``."""
    return parse_genkey(run_tool(host, ["vpncloud", "genkey"]))


def generate_keys(request: KeyRequest) -> list[KeyFile]:
    """Site material: ``secrets/<host>/vpncloud/private.key``, ``public/vpncloud/<host>.pub``."""
    vpn = VpnCloudAdapter.name
    files: list[KeyFile] = []
    for host in request.hosts:
        private, public = key_pair(request.machine)
        files.append(PrivateFile(host, vpn, "private.key", file_text(private)))
        files.append(PublicFile(vpn, f"{host}.pub", file_text(public)))
    return files


def render_config(
    *, interface: str, cidr: str, address: str, mtu: int, listen: str, peers: list[str],
    private_key: str, trusted_keys: list[str],
) -> str:
    """VpnCloud's YAML config, written as JSON (a subset of YAML serde_yaml reads as is)."""
    config = {
        "device": {"type": "tun", "name": interface},
        "ifup": f"ip address add {cidr} dev $IFNAME && ip link set $IFNAME mtu {mtu} up",
        "auto-claim": False,
        "claims": [f"{address}/32"],
        "listen": listen,
        "peers": peers,
        "crypto": {"private-key": private_key, "trusted-keys": trusted_keys},
        "port-forwarding": False,
    }
    return json.dumps(config, indent=2) + "\n"


def lookup_route(lan_address: str) -> list[str]:
    """``ip route`` arguments of the loopback-only route the own-address lookup needs."""
    return [ADDRESS_LOOKUP_TARGET, "dev", "lo", "src", lan_address]


class VpnCloudAdapter(VpnAdapter):
    name = "vpncloud"
    requirements = (VPNCLOUD,)

    def __init__(self, settings: VpnSettings) -> None:
        super().__init__(settings)
        self._routed_hosts: list[Host] = []

    def overlay_addresses(self, ctx: VpnContext) -> dict[str, str]:
        return {host: static_overlay_address(self.settings, ctx.hosts, host)
                for host in ctx.hosts}

    def deploy(self, ctx: VpnContext) -> None:
        interface = self.settings.interface or "vpncloud0"
        port = self.settings.port()
        addresses = self.overlay_addresses(ctx)
        keys = {name: key_pair(ctx.host(name)) for name in ctx.hosts}
        trusted = [keys[name][1] for name in ctx.hosts]
        for name in ctx.hosts:
            host = ctx.host(name)
            lan = ctx.testbed.lan_address(name)
            path = ctx.workdir(host) / "vpncloud.yaml"
            host.write_file(path, render_config(
                interface=interface,
                cidr=f"{addresses[name]}/{prefix_length(self.settings)}",
                address=addresses[name], mtu=self.settings.mtu or DEFAULT_MTU,
                listen=f"{lan}:{port}",
                peers=[f"{ctx.testbed.lan_address(peer)}:{port}"
                       for peer in ctx.hosts if peer != name],
                private_key=keys[name][0], trusted_keys=trusted,
            ))
            host.succeed(["ip", "route", "add", *lookup_route(lan)])
            self._routed_hosts.append(host)
        for name in ctx.hosts:
            host = ctx.host(name)
            ctx.start(host, ["vpncloud", "--config", str(ctx.workdir(host) / "vpncloud.yaml")],
                      name="vpncloud")

    def start_host(self, ctx: VpnContext, name: str, *, booted: bool = False) -> None:
        """After a reboot the host's address-lookup route is gone: set it again first."""
        if booted:
            host = ctx.host(name)
            host.succeed(["ip", "route", "add", *lookup_route(ctx.testbed.lan_address(name))])
        super().start_host(ctx, name, booted=booted)

    def teardown(self, ctx: VpnContext) -> None:
        """SIGTERM to all first: each vpncloud takes 1-4 s to shut down, so in parallel."""
        for _host, process in ctx.processes:
            process.signal(signal.SIGTERM)
        super().teardown(ctx)
        for host in self._routed_hosts:
            host.run(["ip", "route", "del", ADDRESS_LOOKUP_TARGET, "dev", "lo"], timeout=10)
        self._routed_hosts.clear()


VPN = VpnDescription(adapter=VpnCloudAdapter, colour="#B8860B",
                     keys=KeyGeneration(tools=(VPNCLOUD,), generate=generate_keys))
