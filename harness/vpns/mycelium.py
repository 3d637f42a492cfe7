"""Mycelium: static TCP peers only (every other host), link-local peer discovery off, no hosted
public nodes (the binary has none by default; only the NixOS module can add them).

Run here with mycelium 0.7.10 built from source (``scripts/build-vpns.sh``) on the local
testbed, which has no route out: the three nodes peer over the static TCP peers and carry ping
and TCP (``tests/integration/test_run_vpns.py``, ``test_extra_vpns.py``). From the myceliumd
source (threefoldtech/mycelium v0.7.10, ``myceliumd/src/main.rs``,
``myceliumd-common/src/lib.rs``, ``mycelium-cli/src/inspect.rs``):

* the node key file is exactly 32 raw bytes (an x25519 secret; ``load_key_file`` reads them
  with ``read_exact``), so the harness writes 32 random bytes (0600) instead of running the
  daemon once to make one;
* ``mycelium --key-file F inspect --json`` prints ``{"publicKey": ..., "address": ...}``, the
  node's 400::/7 address derived from the key;
* the daemon runs in the foreground until SIGTERM; its HTTP and JSON-RPC APIs listen on
  127.0.0.1 (8989, 8990), which is per host in a namespace;
* without ``--config-file`` it reads ``$XDG_CONFIG_HOME/mycelium/mycelium.toml``
  (``load_config_file``: ``dirs::config_dir()``); the shipped example config lists public
  peers, and the hosts share the filesystem, so XDG_CONFIG_HOME and XDG_DATA_HOME point into
  the host's state dir, where no config file exists;
* every host passes ``--tun-name`` (the vpn-configs interface; the same name on each host is
  fine on Linux, where each host has its own network namespace or machine).
"""

from __future__ import annotations

import json
import os

from harness.vpns.base import BinaryRequirement, VpnAdapter, VpnContext, VpnError
from harness.vpns.description import VpnDescription

MYCELIUM = BinaryRequirement("mycelium", nix="mycelium", daemon=True)
KEY_BYTES = 32


def new_node_key() -> bytes:
    return os.urandom(KEY_BYTES)


def inspect_argv(key_file: str) -> list[str]:
    return ["mycelium", "--silent", "--key-file", key_file, "inspect", "--json"]


def parse_inspect(output: str) -> str:
    """The overlay address from ``inspect --json`` (log lines around the JSON are skipped)."""
    start, end = output.find("{"), output.rfind("}")
    try:
        address = json.loads(output[start:end + 1])["address"]
    except (ValueError, KeyError, TypeError):
        raise VpnError(f"unexpected `mycelium inspect --json` output: {output[:500]!r}") from None
    return str(address)


def daemon_argv(*, key_file: str, peers: list[str], port: int, interface: str) -> list[str]:
    return ["mycelium", "--key-file", key_file, "--tcp-listen-port", str(port),
            "--quic-listen-port", str(port), "--disable-peer-discovery",
            "--tun-name", interface, "--peers", *peers]


class MyceliumAdapter(VpnAdapter):
    name = "mycelium"
    requirements = (MYCELIUM,)

    addresses: dict[str, str]

    def overlay_addresses(self, ctx: VpnContext) -> dict[str, str]:
        return dict(self.addresses)

    def deploy(self, ctx: VpnContext) -> None:
        port = self.settings.port()
        interface = self.settings.interface or "mycelium"
        self.addresses = {}
        for name in ctx.hosts:
            host = ctx.host(name)
            workdir = ctx.workdir(host)
            key_file = str(workdir / "key.bin")
            host.write_file(workdir / "key.bin", new_node_key())
            env = {"XDG_CONFIG_HOME": str(workdir / "config"),
                   "XDG_DATA_HOME": str(workdir / "data")}
            self.addresses[name] = parse_inspect(host.succeed(inspect_argv(key_file), env=env))
            peers = [f"tcp://{ctx.testbed.lan_address(peer)}:{port}"
                     for peer in ctx.hosts if peer != name]
            ctx.start(host, daemon_argv(key_file=key_file, peers=peers, port=port,
                                        interface=interface), name="mycelium", env=env)


VPN = VpnDescription(adapter=MyceliumAdapter, colour="#17BECF",
                     keys_elsewhere="mycelium writes its key file on the host at first start")
