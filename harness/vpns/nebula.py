"""Nebula: a per-run CA, one certificate per host, the coordinator as lighthouse, and a
firewall that lets all overlay traffic through (nebula's default is to drop everything)."""

from __future__ import annotations

import json

from harness.hosts.base import Host
from harness.settings.addressing import coordinator, prefix_length, static_overlay_address
from harness.vpns.base import BinaryRequirement, VpnAdapter, VpnContext

NEBULA = BinaryRequirement("nebula", nix="nebula", debian="nebula")
NEBULA_CERT = BinaryRequirement("nebula-cert", nix="nebula", debian="nebula")

ALLOW_ALL = [{"port": "any", "proto": "any", "host": "any"}]


def describe_version(version_output: str) -> str | None:
    """``nebula -version`` prints "Version: 1.10.3"; the record says "nebula 1.10.3"."""
    for line in version_output.splitlines():
        if line.startswith("Version:"):
            return f"nebula {line.split(':', 1)[1].strip() or '?'}"
    return None


def render_config(
    *,
    ca: str, cert: str, key: str,
    lighthouse_overlay: str, lighthouse_underlay: str,
    is_lighthouse: bool, port: int, interface: str, mtu: int,
) -> str:
    """Nebula's YAML config, written as JSON (a subset of YAML nebula reads as is)."""
    config = {
        "pki": {"ca": ca, "cert": cert, "key": key},
        "static_host_map": {lighthouse_overlay: [f"{lighthouse_underlay}:{port}"]},
        "lighthouse": {
            "am_lighthouse": is_lighthouse,
            "interval": 10,
            "hosts": [] if is_lighthouse else [lighthouse_overlay],
        },
        "listen": {"host": "0.0.0.0", "port": port},
        "punchy": {"punch": True},
        "tun": {"disabled": False, "dev": interface, "mtu": mtu},
        "logging": {"level": "info", "format": "text"},
        "firewall": {"outbound": ALLOW_ALL, "inbound": ALLOW_ALL},
    }
    return json.dumps(config, indent=2) + "\n"


class NebulaAdapter(VpnAdapter):
    name = "nebula"
    requirements = (NEBULA, NEBULA_CERT)
    version_argv = ("nebula", "-version")

    def version(self, host: Host) -> str | None:
        result = host.run(list(self.version_argv), timeout=10)
        return describe_version(result.stdout or result.stderr)

    def overlay_addresses(self, ctx: VpnContext) -> dict[str, str]:
        return {host: static_overlay_address(self.settings, ctx.hosts, host)
                for host in ctx.hosts}

    def deploy(self, ctx: VpnContext) -> None:
        lighthouse = coordinator(self.settings, ctx.hosts)
        addresses = self.overlay_addresses(ctx)
        prefix = prefix_length(self.settings)
        port = self.settings.port()
        authority = ctx.host(lighthouse)
        ca_dir = ctx.workdir(authority) / "ca"
        authority.make_dir(ca_dir)
        ca_crt, ca_key = ca_dir / "ca.crt", ca_dir / "ca.key"
        authority.succeed(["nebula-cert", "ca", "-name", "vpn-bench run CA", "-duration", "48h",
                           "-out-crt", str(ca_crt), "-out-key", str(ca_key)])
        for name in ctx.hosts:
            signed_crt, signed_key = ca_dir / f"{name}.crt", ca_dir / f"{name}.key"
            authority.succeed(["nebula-cert", "sign", "-ca-crt", str(ca_crt), "-ca-key",
                               str(ca_key), "-name", name, "-ip", f"{addresses[name]}/{prefix}",
                               "-out-crt", str(signed_crt), "-out-key", str(signed_key)])
            host = ctx.host(name)
            workdir = ctx.workdir(host)
            files = {"ca.crt": ca_crt, "host.crt": signed_crt, "host.key": signed_key}
            for file_name, source in files.items():
                host.write_file(workdir / file_name, authority.read_file(source))
            host.write_file(workdir / "config.yml", render_config(
                ca=str(workdir / "ca.crt"), cert=str(workdir / "host.crt"),
                key=str(workdir / "host.key"),
                lighthouse_overlay=addresses[lighthouse],
                lighthouse_underlay=ctx.testbed.lan_address(lighthouse),
                is_lighthouse=name == lighthouse, port=port,
                interface=self.settings.interface or "nebula.vpb",
                mtu=self.settings.mtu or 1300,
            ))
        for name in ctx.hosts:
            host = ctx.host(name)
            ctx.start(host, ["nebula", "-config", str(ctx.workdir(host) / "config.yml")],
                      name="nebula")
