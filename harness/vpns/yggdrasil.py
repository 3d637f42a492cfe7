"""Yggdrasil: keys from ``-genconf``, addresses derived from them, static TCP peering with
each pair connected once, multicast discovery off, an admin socket in each host's own /run.

Keys: :func:`generate_config` (``yggdrasil -genconf -json`` on a host) for deploy and for
``vpn-bench keys``, which keeps its ``PrivateKey`` (optional for the NixOS module, which
makes one at first start; made so a site's overlay addresses are known beforehand).
"""

from __future__ import annotations

import json
import re
from typing import Any

from harness.hosts.base import Host
from harness.settings.models import VpnSettings
from harness.vpns.base import BinaryRequirement, VpnAdapter, VpnContext
from harness.vpns.description import VpnDescription
from harness.vpns.material import (
    KeyFile,
    KeyGeneration,
    KeyMaterialError,
    KeyRequest,
    PrivateFile,
    file_text,
    run_tool,
)

YGGDRASIL = BinaryRequirement("yggdrasil", nix="yggdrasil", debian="yggdrasil",
                              version_args=("-version",), daemon=True)
PRIVATE_KEY = re.compile(r"[0-9a-f]{128}")


def generate_config(host: Host) -> dict[str, Any]:
    """A fresh config with a fresh key pair, from ``yggdrasil -genconf -json`` on ``host``."""
    output = run_tool(host, ["yggdrasil", "-genconf", "-json"])
    try:
        config = json.loads(output)
    except json.JSONDecodeError:
        config = None
    if not isinstance(config, dict):
        raise KeyMaterialError("yggdrasil -genconf -json printed no JSON object")
    return config


def private_key_of(config: dict[str, Any]) -> str:
    key = config.get("PrivateKey", "")
    if not isinstance(key, str) or not PRIVATE_KEY.fullmatch(key):
        raise KeyMaterialError("yggdrasil -genconf -json printed no 128-hex PrivateKey")
    return key


def generate_keys(request: KeyRequest) -> list[KeyFile]:
    """Site material: ``secrets/<host>/yggdrasil/private.key``."""
    return [PrivateFile(host, YggdrasilAdapter.name, "private.key",
                        file_text(private_key_of(generate_config(request.machine))))
            for host in request.hosts]


def peers_of(hosts: list[str], host: str) -> list[str]:
    """Each pair peers once: a host dials every host before it in ring order."""
    return hosts[: hosts.index(host)]


def node_info_privacy(settings: VpnSettings) -> bool:
    """Shared with the NixOS module (``[options] node_info_privacy``, same default)."""
    return bool(settings.options.get("node_info_privacy", True))


def public_key_of(generated: dict[str, Any]) -> str:
    """The node's public key (hex). Yggdrasil 0.4 wrote it into the generated config; 0.5
    writes only the ed25519 ``PrivateKey``, whose second half is the public key."""
    if "PublicKey" in generated:
        return str(generated["PublicKey"])
    private = str(generated["PrivateKey"])
    if len(private) != 128:
        raise ValueError("yggdrasil -genconf printed no 128-hex PrivateKey")
    return private[64:]


def describe_version(version_output: str) -> str | None:
    """``yggdrasil -version`` prints "Build name:" and "Build version:" lines."""
    fields = dict(line.split(":", 1) for line in version_output.splitlines() if ":" in line)
    version = fields.get("Build version", "").strip()
    return f"yggdrasil {version}" if version else None


def render_config(generated: dict[str, Any], *, listen: str, peers: list[str],
                  allowed_keys: list[str], interface: str, mtu: int,
                  node_info_privacy: bool = True) -> dict[str, Any]:
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
        "NodeInfoPrivacy": node_info_privacy,
    })
    return config


class YggdrasilAdapter(VpnAdapter):
    name = "yggdrasil"
    requirements = (YGGDRASIL,)

    def version(self, host: Host) -> str | None:
        result = host.run(list(YGGDRASIL.version_argv), timeout=10)
        return describe_version(result.stdout or result.stderr)

    addresses: dict[str, str]

    def deploy(self, ctx: VpnContext) -> None:
        port = self.settings.port()
        generated: dict[str, dict[str, Any]] = {}
        for name in ctx.hosts:
            generated[name] = generate_config(ctx.host(name))
        keys = {name: public_key_of(config) for name, config in generated.items()}
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
                node_info_privacy=node_info_privacy(self.settings),
            )
            path = ctx.workdir(host) / "yggdrasil.conf"
            host.write_file(path, json.dumps(config, indent=2))
            self.addresses[name] = host.succeed(["yggdrasil", "-useconffile", str(path),
                                                 "-address"]).strip()
            ctx.start(host, ["yggdrasil", "-useconffile", str(path), "-logto", "stdout"],
                      name="yggdrasil")

    def overlay_addresses(self, ctx: VpnContext) -> dict[str, str]:
        return dict(self.addresses)


VPN = VpnDescription(adapter=YggdrasilAdapter, colour="#D55E00",
                     keys=KeyGeneration(tools=(YGGDRASIL,), generate=generate_keys))
