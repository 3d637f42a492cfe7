"""EasyTier: every host peers with the coordinator over TCP; one network secret per run.

The daemon is ``easytier-core`` (Nix package ``easytier``) when it is on PATH, otherwise the
PyPI wheel ``easytier-pyo3`` run by :mod:`harness.vpns.easytier_launcher` in the harness's own
Python (``pip install 'vpn-bench[easytier]'``). Both read the same easytier-core TOML file.
The secret is only in that file (0600), never on a command line. The three STUN server lists
are empty: EasyTier's defaults are public hosts (seen resolving them via public DNS servers).
Verified here with the wheel (core 2.6.4); ``easytier-core`` itself was not available here, and
versions whose config has no STUN keys ignore them (their public STUN hosts then fail to
resolve inside the testbed, which has no route out).
"""

from __future__ import annotations

import importlib
import secrets
import shutil
import sys
from functools import cache, partial
from pathlib import Path
from typing import Literal

from harness.hosts.base import Host
from harness.settings.addressing import coordinator, prefix_length, static_overlay_address
from harness.vpns import toml_writer
from harness.vpns.base import (
    BinaryRequirement,
    VpnAdapter,
    VpnContext,
    VpnError,
    interface_exists,
)
from harness.waiting import wait_until

EASYTIER_CORE = BinaryRequirement("easytier-core", nix="easytier",
                                  build_hint="or pip install 'vpn-bench[easytier]'")
LAUNCHER_MODULE = "harness.vpns.easytier_launcher"
INSTANCE_NAME = "vpb"

Runner = Literal["easytier-core", "easytier-pyo3"]


@cache
def pyo3_version() -> str | None:
    """The core version of the importable easytier_pyo3 wheel, or None when it won't import."""
    try:
        module = importlib.import_module("easytier_pyo3")
    except ImportError:
        return None
    return str(module.version())


def available_runner() -> Runner | None:
    """The native binary wins; the wheel is the fallback that needs nothing but pip."""
    if shutil.which(EASYTIER_CORE.binary):
        return "easytier-core"
    if pyo3_version() is not None:
        return "easytier-pyo3"
    return None


def new_network_secret() -> str:
    """64 lowercase hex characters, the format docs/secrets.md fixes for the Nix side too."""
    return secrets.token_hex(32)


def render_config(
    *, host: str, cidr: str, listen_address: str, port: int, network_name: str,
    network_secret: str, peers: list[str], interface: str, mtu: int | None,
) -> str:
    """easytier-core TOML; ``peers`` are underlay addresses to dial (empty on the coordinator)."""
    flags: dict[str, object] = {"dev_name": interface, "disable_upnp": True}
    if mtu is not None:
        flags["mtu"] = mtu
    document: dict[str, object] = {
        "instance_name": INSTANCE_NAME,
        "hostname": host,
        "ipv4": cidr,
        "dhcp": False,
        "listeners": [f"tcp://{listen_address}:{port}", f"udp://{listen_address}:{port}"],
        "stun_servers": [],
        "tcp_stun_servers": [],
        "stun_servers_v6": [],
        "network_identity": {"network_name": network_name, "network_secret": network_secret},
        "flags": flags,
    }
    if peers:
        document["peer"] = [{"uri": f"tcp://{peer}:{port}"} for peer in peers]
    return toml_writer.dumps(document)


def daemon_argv(runner: Runner, config: str) -> list[str]:
    if runner == "easytier-core":
        return [EASYTIER_CORE.binary, "-c", config]
    return [sys.executable, "-m", LAUNCHER_MODULE, "--config", config]


def _launcher_environment() -> dict[str, str]:
    """Make ``harness`` importable for the launcher even from an uninstalled checkout."""
    return {"PYTHONPATH": str(Path(__file__).resolve().parents[2])}


class EasyTierAdapter(VpnAdapter):
    name = "easytier"
    requirements = (EASYTIER_CORE,)

    runner: Runner | None = None

    def missing_requirements(self) -> list[BinaryRequirement]:
        return [] if available_runner() else [EASYTIER_CORE]

    def unavailable_reason(self) -> str | None:
        if available_runner():
            return None
        return ("not installed (binary easytier-core; Nix package easytier; "
                "or pip install 'vpn-bench[easytier]')")

    def version(self, host: Host) -> str | None:
        runner = self.runner or available_runner()
        if runner == "easytier-pyo3":
            return f"easytier-pyo3 (core {pyo3_version()})"
        result = host.run([EASYTIER_CORE.binary, "--version"], timeout=10)
        text = (result.stdout or result.stderr).strip()
        return text.splitlines()[0] if text else None

    def details(self) -> dict[str, str]:
        return {"runner": self.runner} if self.runner else {}

    def overlay_addresses(self, ctx: VpnContext) -> dict[str, str]:
        return {host: static_overlay_address(self.settings, ctx.hosts, host)
                for host in ctx.hosts}

    def deploy(self, ctx: VpnContext) -> None:
        runner = available_runner()
        if runner is None:
            raise VpnError(str(self.unavailable_reason()))
        self.runner = runner
        hub = coordinator(self.settings, ctx.hosts)
        interface = self.settings.interface or "easytier0"
        port = self.settings.port()
        secret = new_network_secret()
        addresses = self.overlay_addresses(ctx)
        env = _launcher_environment() if runner == "easytier-pyo3" else None
        for name in ctx.hosts:
            host = ctx.host(name)
            path = ctx.workdir(host) / "easytier.toml"
            host.write_file(path, render_config(
                host=name, cidr=f"{addresses[name]}/{prefix_length(self.settings)}",
                listen_address=ctx.testbed.lan_address(name), port=port,
                network_name=str(self.settings.options.get("network_name", "vpn-bench")),
                network_secret=secret,
                peers=[] if name == hub else [ctx.testbed.lan_address(hub)],
                interface=interface, mtu=self.settings.mtu,
            ))
            ctx.start(host, daemon_argv(runner, str(path)), name=runner, env=env)
        for name in ctx.hosts:
            host = ctx.host(name)
            wait_until(partial(interface_exists, host, interface), timeout_s=20,
                       what=f"{interface} on {name}", abort=lambda: self.dead_daemons(ctx))
