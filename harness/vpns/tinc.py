"""tinc 1.0 in router mode: every host holds every host file; the others ConnectTo the
coordinator and learn the rest through it (direct UDP follows once they know each other)."""

from __future__ import annotations

from pathlib import PurePosixPath

from harness.settings.addressing import coordinator, prefix_length, static_overlay_address
from harness.vpns.base import BinaryRequirement, VpnAdapter, VpnContext

TINCD = BinaryRequirement("tincd", nix="tinc", debian="tinc")


def render_tinc_conf(name: str, interface: str, mode: str, port: int, connect_to: str | None,
                     cipher: str, digest: str) -> str:
    lines = [f"Name = {name}", f"Mode = {mode}", f"Interface = {interface}",
             "AddressFamily = ipv4", f"Port = {port}", f"Cipher = {cipher}",
             f"Digest = {digest}"]
    if connect_to:
        lines.append(f"ConnectTo = {connect_to}")
    return "\n".join(lines) + "\n"


def render_host_file(address: str, port: int, subnet: str, public_key: str) -> str:
    return f"Address = {address}\nPort = {port}\nSubnet = {subnet}\n\n{public_key.strip()}\n"


def render_tinc_up(address: str, prefix: int, mtu: int | None) -> str:
    mtu_part = f" mtu {mtu}" if mtu else ""
    return (
        "#!/bin/sh\n"
        f"ip link set \"$INTERFACE\" up{mtu_part}\n"
        f"ip address add {address}/{prefix} dev \"$INTERFACE\"\n"
    )


class TincAdapter(VpnAdapter):
    name = "tinc"
    requirements = (TINCD,)
    version_argv = ("tincd", "--version")

    def overlay_addresses(self, ctx: VpnContext) -> dict[str, str]:
        return {host: static_overlay_address(self.settings, ctx.hosts, host)
                for host in ctx.hosts}

    def _option(self, key: str, default: str) -> str:
        return str(self.settings.options.get(key, default))

    def deploy(self, ctx: VpnContext) -> None:
        interface = self.settings.interface or "tinc.vpb"
        port = self.settings.port()
        hub = coordinator(self.settings, ctx.hosts)
        addresses = self.overlay_addresses(ctx)
        config_dirs: dict[str, PurePosixPath] = {}
        public_keys: dict[str, str] = {}
        for name in ctx.hosts:
            host = ctx.host(name)
            config_dir = ctx.workdir(host) / "tinc"
            config_dirs[name] = config_dir
            host.make_dir(config_dir / "hosts")
            host.write_file(config_dir / "tinc.conf", render_tinc_conf(
                name, interface, self._option("mode", "router"), port,
                None if name == hub else hub,
                self._option("cipher", "aes-256-cbc"), self._option("digest", "sha256"),
            ))
            host.succeed(["tincd", "-c", str(config_dir), "-K2048"], input_text="")
            generated = host.read_file(config_dir / "hosts" / name).decode()
            public_keys[name] = generated[generated.index("-----BEGIN"):]
            host.write_file(config_dir / "tinc-up", render_tinc_up(
                addresses[name], prefix_length(self.settings), self.settings.mtu), mode=0o700)
        for name in ctx.hosts:
            host = ctx.host(name)
            for peer in ctx.hosts:
                subnet = f"{addresses[peer]}/32"
                host.write_file(config_dirs[name] / "hosts" / peer, render_host_file(
                    ctx.testbed.lan_address(peer), port, subnet, public_keys[peer]))
        for name in ctx.hosts:
            host = ctx.host(name)
            config_dir = config_dirs[name]
            ctx.start(host, ["tincd", "-c", str(config_dir), "-D", "-d1",
                             f"--pidfile={ctx.workdir(host) / 'tincd.pid'}"], name="tincd")
