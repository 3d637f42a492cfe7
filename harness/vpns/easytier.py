"""EasyTier: every host peers with the coordinator over TCP; one network secret per run.

The daemon is ``easytier-core`` (Nix package ``easytier``) when it is on the host's PATH,
otherwise ``vpb-easytier``, the harness's console script around the PyPI wheel
``easytier-pyo3`` (:mod:`harness.vpns.easytier_launcher`; ``pip install 'vpn-bench[easytier]'``).
Both read the same easytier-core TOML file. The secret is only in that file (0600), never on a
command line. The three STUN server lists are empty: EasyTier's defaults are public hosts
(seen resolving them via public DNS servers). Verified here with the wheel (core 2.6.4);
``easytier-core`` itself was not available here, and versions whose config has no STUN keys
ignore them (their public STUN hosts then fail to resolve inside the testbed, which has no
route out). Keys: one network secret for all hosts (:func:`new_network_secret`).
"""

from __future__ import annotations

import secrets
from functools import partial
from typing import Literal

from harness.hosts.base import Host
from harness.settings.addressing import coordinator, prefix_length, static_overlay_address
from harness.settings.models import VpnSettings
from harness.vpns import toml_writer
from harness.vpns.base import (
    BinaryRequirement,
    VpnAdapter,
    VpnContext,
    VpnError,
    interface_exists,
)
from harness.vpns.description import VpnDescription
from harness.vpns.material import KeyFile, KeyGeneration, KeyRequest, PrivateFile, file_text
from harness.waiting import wait_until

EASYTIER_CORE = BinaryRequirement("easytier-core", nix="easytier", daemon=True)
#: The console script of this package ([project.scripts] in pyproject.toml).
VPB_EASYTIER = BinaryRequirement(
    "vpb-easytier", nix="vpn-bench (this flake's Python environment)", daemon=True,
    build_hint="pip install 'vpn-bench[easytier]' (console script around easytier-pyo3)")
SECRET_BYTES = 32  # 64 lowercase hex characters, what the module checks for

Runner = Literal["easytier-core", "vpb-easytier"]
RUNNERS: dict[Runner, BinaryRequirement] = {"easytier-core": EASYTIER_CORE,
                                            "vpb-easytier": VPB_EASYTIER}


def available_runner(host: Host) -> Runner | None:
    """The native binary wins; the wheel's console script is the fallback."""
    for runner, requirement in RUNNERS.items():
        if requirement.is_on(host):
            return runner
    return None


def new_network_secret() -> str:
    """64 lowercase hex characters, the format docs/secrets.md fixes for the Nix side too."""
    return secrets.token_hex(SECRET_BYTES)


def generate_keys(request: KeyRequest) -> list[KeyFile]:
    """Site material: the same ``network.secret`` for every host (no tool needed)."""
    secret = new_network_secret()
    return [PrivateFile(host, EasyTierAdapter.name, "network.secret", file_text(secret))
            for host in request.hosts]


def render_config(
    *, instance: str, host: str, cidr: str, listen_address: str, port: int, network_name: str,
    network_secret: str, peers: list[str], interface: str, mtu: int | None,
) -> str:
    """easytier-core TOML; ``peers`` are underlay addresses to dial (empty on the coordinator)."""
    flags: dict[str, object] = {"dev_name": interface, "disable_upnp": True}
    if mtu is not None:
        flags["mtu"] = mtu
    document: dict[str, object] = {
        "instance_name": instance,
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


def identity(settings: VpnSettings) -> tuple[str, str]:
    """(instance name, network name): the NixOS module reads the same ``[options]`` with the
    same defaults (modules/lib/plans.nix; tests/nix/test_runtime_settings.py compares)."""
    return (str(settings.options.get("instance_name", "vpb")),
            str(settings.options.get("network_name", "vpn-bench")))


def daemon_argv(runner: Runner, config: str) -> list[str]:
    if runner == "easytier-core":
        return [EASYTIER_CORE.binary, "-c", config]
    return [VPB_EASYTIER.binary, "--config", config]


class EasyTierAdapter(VpnAdapter):
    name = "easytier"
    requirements = (EASYTIER_CORE,)
    alternatives = (VPB_EASYTIER,)

    runner: Runner | None = None

    def missing_requirements(self, host: Host) -> list[BinaryRequirement]:
        return [] if available_runner(host) else [EASYTIER_CORE, VPB_EASYTIER]

    def unavailable_reason(self, host: Host) -> str | None:
        if available_runner(host):
            return None
        return ("not installed (" + EASYTIER_CORE.how_to_install() + "; or "
                + VPB_EASYTIER.how_to_install() + ")")

    def version(self, host: Host) -> str | None:
        runner = self.runner or available_runner(host)
        if runner is None:
            return None
        line = host.version_line(RUNNERS[runner].version_argv)
        return f"{runner} (core {line})" if runner == "vpb-easytier" and line else line

    def details(self) -> dict[str, str]:
        return {"runner": self.runner} if self.runner else {}

    def overlay_addresses(self, ctx: VpnContext) -> dict[str, str]:
        return {host: static_overlay_address(self.settings, ctx.hosts, host)
                for host in ctx.hosts}

    def deploy(self, ctx: VpnContext) -> None:
        runner = available_runner(ctx.host(ctx.hosts[0]))
        if runner is None:
            raise VpnError(str(self.unavailable_reason(ctx.host(ctx.hosts[0]))))
        self.runner = runner
        hub = coordinator(self.settings, ctx.hosts)
        interface = self.settings.interface or "easytier0"
        port = self.settings.port()
        secret = new_network_secret()
        addresses = self.overlay_addresses(ctx)
        instance, network_name = identity(self.settings)
        for name in ctx.hosts:
            host = ctx.host(name)
            path = ctx.workdir(host) / "easytier.toml"
            host.write_file(path, render_config(
                instance=instance, host=name,
                cidr=f"{addresses[name]}/{prefix_length(self.settings)}",
                listen_address=ctx.testbed.lan_address(name), port=port,
                network_name=network_name,
                network_secret=secret,
                peers=[] if name == hub else [ctx.testbed.lan_address(hub)],
                interface=interface, mtu=self.settings.mtu,
            ))
            ctx.start(host, daemon_argv(runner, str(path)), name=runner)
        for name in ctx.hosts:
            host = ctx.host(name)
            wait_until(partial(interface_exists, host, interface), timeout_s=20,
                       what=f"{interface} on {name}", abort=lambda: self.dead_daemons(ctx))


VPN = VpnDescription(adapter=EasyTierAdapter, colour="#56B4E9",
                     keys=KeyGeneration(tools=(), generate=generate_keys))
