"""Yggdrasil: keys from ``-genconf``, addresses derived from them, static TCP peering with
each pair connected once, multicast discovery off, an admin socket in each host's own /run."""

from __future__ import annotations

import json
from typing import Any

from harness.vpns.base import BinaryRequirement, VpnAdapter, VpnContext

YGGDRASIL = BinaryRequirement("yggdrasil", nix="yggdrasil", debian="yggdrasil")


def peers_of(hosts: list[str], host: str) -> list[str]:
    """Each pair peers once: a host dials every host before it in ring order."""
    return hosts[: hosts.index(host)]


def render_config(generated: dict[str, Any], *, listen: str, peers: list[str],
                  allowed_keys: list[str], interface: str, mtu: int) -> dict[str, Any]:
    config = dict(generated)
    config.update({
        "Listen": [listen],
        "Peers": peers,
        "InterfacePeers": {},
        "AllowedPublicKeys": allowed_keys,
        "MulticastInterfaces": [],
        "AdminListen": "unix:///run/yggdrasil.sock",
        "IfName": interface,
        "IfMTU": mtu,
        "NodeInfoPrivacy": True,
    })
    return config


class YggdrasilAdapter(VpnAdapter):
    name = "yggdrasil"
    requirements = (YGGDRASIL,)
    version_argv = ("yggdrasil", "-version")

    addresses: dict[str, str]

    def deploy(self, ctx: VpnContext) -> None:
        port = self.settings.port()
        generated: dict[str, dict[str, Any]] = {}
        for name in ctx.hosts:
            generated[name] = json.loads(ctx.host(name).succeed(["yggdrasil", "-genconf",
                                                                  "-json"]))
        keys = {name: str(config["PublicKey"]) for name, config in generated.items()}
        self.addresses = {}
        for name in ctx.hosts:
            host = ctx.host(name)
            config = render_config(
                generated[name],
                listen=f"tcp://{ctx.testbed.lan_address(name)}:{port}",
                peers=[f"tcp://{ctx.testbed.lan_address(peer)}:{port}"
                       for peer in peers_of(ctx.hosts, name)],
                allowed_keys=[keys[peer] for peer in ctx.hosts if peer != name],
                interface=self.settings.interface or "ygg0",
                mtu=self.settings.mtu or 65535,
            )
            path = ctx.workdir(host) / "yggdrasil.conf"
            host.write_file(path, json.dumps(config, indent=2))
            self.addresses[name] = host.succeed(["yggdrasil", "-useconffile", str(path),
                                                 "-address"]).strip()
            ctx.start(host, ["yggdrasil", "-useconffile", str(path), "-logto", "stdout"],
                      name="yggdrasil")

    def overlay_addresses(self, ctx: VpnContext) -> dict[str, str]:
        return dict(self.addresses)
