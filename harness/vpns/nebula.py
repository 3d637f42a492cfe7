"""Nebula: a per-run CA, one certificate per host, the coordinator as lighthouse, and a
firewall that lets all overlay traffic through (nebula's default is to drop everything).

Every host knows every other host's underlay endpoint (``static_host_map``), as in the NixOS
module; the runtime knobs both use (punching, lighthouse interval, listen host) are in
``[options]`` of vpn-configs/vpns/nebula.toml. Keys: one CA, a certificate per host with its
static overlay address (:func:`make_ca`, :func:`sign`, for deploy and ``vpn-bench keys``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import PurePosixPath

from harness.hosts.base import Host
from harness.settings.addressing import coordinator, prefix_length, static_overlay_address
from harness.settings.loader import ConfigError
from harness.settings.models import VpnSettings
from harness.vpns.base import BinaryRequirement, VpnAdapter, VpnContext
from harness.vpns.description import VpnDescription
from harness.vpns.material import (
    KeyFile,
    KeyGeneration,
    KeyRequest,
    PrivateFile,
    PublicFile,
    file_text,
    run_tool,
)

NEBULA = BinaryRequirement("nebula", nix="nebula", debian="nebula", version_args=("-version",),
                           daemon=True)
NEBULA_CERT = BinaryRequirement("nebula-cert", nix="nebula", debian="nebula",
                                version_args=("-version",))

ALLOW_ALL = [{"port": "any", "proto": "any", "host": "any"}]
#: CA of a site made by ``vpn-bench keys``: ten years, a site must not expire between
#: campaigns. The CA key is thrown away after signing (adding a host = regenerate the site).
SITE_CA_NAME = "vpn-bench"
SITE_CA_LIFETIME = "87600h"
#: CA of one run: it only has to outlive the run.
RUN_CA_NAME = "vpn-bench run CA"
RUN_CA_LIFETIME = "48h"


def make_ca(host: Host, directory: PurePosixPath, name: str,
            lifetime: str) -> tuple[PurePosixPath, PurePosixPath]:
    """(ca.crt, ca.key) made by ``nebula-cert ca`` in ``directory`` on ``host``."""
    ca_crt, ca_key = directory / "ca.crt", directory / "ca.key"
    run_tool(host, ["nebula-cert", "ca", "-name", name, "-duration", lifetime,
                    "-out-crt", str(ca_crt), "-out-key", str(ca_key)])
    return ca_crt, ca_key


def sign(host: Host, ca: tuple[PurePosixPath, PurePosixPath], name: str,
         network: str) -> tuple[PurePosixPath, PurePosixPath]:
    """(<name>.crt, <name>.key) next to the CA: ``network`` is ``address/prefix``."""
    ca_crt, ca_key = ca
    crt, key = ca_crt.parent / f"{name}.crt", ca_crt.parent / f"{name}.key"
    run_tool(host, ["nebula-cert", "sign", "-ca-crt", str(ca_crt), "-ca-key", str(ca_key),
                    "-name", name, "-ip", network, "-out-crt", str(crt), "-out-key", str(key)])
    return crt, key


def host_networks(settings: VpnSettings, hosts: list[str]) -> dict[str, str]:
    """Host -> ``address/prefix`` for ``nebula-cert sign -ip`` (vpn-configs' static plan)."""
    try:
        prefix = prefix_length(settings)
        return {host: f"{static_overlay_address(settings, hosts, host)}/{prefix}"
                for host in hosts}
    except ValueError as error:
        raise ConfigError(f"vpn-configs/vpns/{settings.name}.toml: {error}") from None


def generate_keys(request: KeyRequest) -> list[KeyFile]:
    """Site material: the CA certificate, a certificate and key per host."""
    vpn, machine = NebulaAdapter.name, request.machine
    networks = host_networks(request.settings, list(request.hosts))
    ca = make_ca(machine, request.workdir, SITE_CA_NAME, SITE_CA_LIFETIME)
    files: list[KeyFile] = [PublicFile(vpn, "ca.crt", file_text(machine.read_text(ca[0])))]
    for host, network in networks.items():
        crt, key = sign(machine, ca, host, network)
        files.append(PublicFile(vpn, f"{host}.crt", file_text(machine.read_text(crt))))
        files.append(PrivateFile(host, vpn, "host.key", file_text(machine.read_text(key))))
    return files


@dataclass(frozen=True)
class Knobs:
    """Runtime settings the NixOS module sets too (modules/lib/plans.nix reads the same
    ``[options]`` with the same defaults; tests/nix/test_runtime_settings.py compares)."""

    punch: bool
    lighthouse_interval: int
    listen_host: str


def knobs(settings: VpnSettings) -> Knobs:
    options = settings.options
    return Knobs(punch=bool(options.get("punch", False)),
                 lighthouse_interval=int(options.get("lighthouse_interval", 10)),
                 listen_host=str(options.get("listen_host", "0.0.0.0")))


def describe_version(version_output: str) -> str | None:
    """``nebula -version`` prints "Version: 1.10.3"; the record says "nebula 1.10.3"."""
    for line in version_output.splitlines():
        if line.startswith("Version:"):
            return f"nebula {line.split(':', 1)[1].strip() or '?'}"
    return None


def render_config(
    *,
    ca: str, cert: str, key: str,
    lighthouse_overlay: str, static_host_map: dict[str, list[str]],
    is_lighthouse: bool, port: int, interface: str, mtu: int,
    knobs: Knobs,
) -> str:
    """Nebula's YAML config, written as JSON (a subset of YAML nebula reads as is)."""
    config = {
        "pki": {"ca": ca, "cert": cert, "key": key},
        "static_host_map": static_host_map,
        "lighthouse": {
            "am_lighthouse": is_lighthouse,
            "interval": knobs.lighthouse_interval,
            "hosts": [] if is_lighthouse else [lighthouse_overlay],
        },
        "listen": {"host": knobs.listen_host, "port": port},
        "punchy": {"punch": knobs.punch},
        "tun": {"disabled": False, "dev": interface, "mtu": mtu},
        "logging": {"level": "info", "format": "text"},
        "firewall": {"outbound": ALLOW_ALL, "inbound": ALLOW_ALL},
    }
    return json.dumps(config, indent=2) + "\n"


class NebulaAdapter(VpnAdapter):
    name = "nebula"
    requirements = (NEBULA, NEBULA_CERT)

    def version(self, host: Host) -> str | None:
        result = host.run(list(NEBULA.version_argv), timeout=10)
        return describe_version(result.stdout or result.stderr)

    def overlay_addresses(self, ctx: VpnContext) -> dict[str, str]:
        return {host: static_overlay_address(self.settings, ctx.hosts, host)
                for host in ctx.hosts}

    def deploy(self, ctx: VpnContext) -> None:
        lighthouse = coordinator(self.settings, ctx.hosts)
        addresses = self.overlay_addresses(ctx)
        networks = host_networks(self.settings, ctx.hosts)
        port = self.settings.port()
        authority = ctx.host(lighthouse)
        ca_dir = ctx.workdir(authority) / "ca"
        authority.make_dir(ca_dir)
        ca = make_ca(authority, ca_dir, RUN_CA_NAME, RUN_CA_LIFETIME)
        for name in ctx.hosts:
            signed_crt, signed_key = sign(authority, ca, name, networks[name])
            host = ctx.host(name)
            workdir = ctx.workdir(host)
            files = {"ca.crt": ca[0], "host.crt": signed_crt, "host.key": signed_key}
            for file_name, source in files.items():
                host.write_file(workdir / file_name, authority.read_file(source))
            host.write_file(workdir / "config.yml", render_config(
                ca=str(workdir / "ca.crt"), cert=str(workdir / "host.crt"),
                key=str(workdir / "host.key"),
                lighthouse_overlay=addresses[lighthouse],
                static_host_map={addresses[peer]: [f"{ctx.testbed.lan_address(peer)}:{port}"]
                                 for peer in ctx.hosts if peer != name},
                is_lighthouse=name == lighthouse, port=port,
                interface=self.settings.interface or "nebula.vpb",
                mtu=self.settings.mtu or 1300,
                knobs=knobs(self.settings),
            ))
        for name in ctx.hosts:
            host = ctx.host(name)
            ctx.start(host, ["nebula", "-config", str(ctx.workdir(host) / "config.yml")],
                      name="nebula")


VPN = VpnDescription(adapter=NebulaAdapter, colour="#CC79A7",
                     keys=KeyGeneration(tools=(NEBULA_CERT,), generate=generate_keys))
