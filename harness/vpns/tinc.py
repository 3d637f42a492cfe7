"""tinc in router mode: every host holds every host file; the others ConnectTo the
coordinator and learn the rest through it (direct UDP follows once they know each other).

tinc 1.1 (the version the benchmark means, vpn-configs/versions.toml) gets RSA and Ed25519
keys from ``tinc generate-keys``, so it speaks its own protocol (SPTPS); Cipher/Digest apply
only to tinc 1.0, whose ``tincd -K`` makes the RSA pair when no ``tinc`` CLI is on PATH.
"""

from __future__ import annotations

import re
from pathlib import PurePosixPath

from harness.hosts.base import Host
from harness.settings.addressing import coordinator, prefix_length, static_overlay_address
from harness.vpns.base import BinaryRequirement, VpnAdapter, VpnContext

TINCD = BinaryRequirement("tincd", nix="tinc", debian="tinc")
TINC_CLI = "tinc"  # tinc 1.1's control program; tinc 1.0 has none
TINC_VERSION = re.compile(r"tinc version (\S+) \(.*protocol ([0-9.]+)\)")


def describe_version(version_output: str) -> str | None:
    """``tincd --version`` -> e.g. "tinc 1.1pre18 (protocol 17.7)" (no build date)."""
    match = TINC_VERSION.search(version_output)
    if match is None:
        first = version_output.strip().splitlines()
        return first[0] if first else None
    return f"tinc {match.group(1)} (protocol {match.group(2)})"


def public_key_material(host_file: str) -> str:
    """The key lines of a host file written by key generation: an Ed25519PublicKey line
    (tinc 1.1) and the RSA PEM block, without the Name/Address lines around them."""
    lines = [line for line in host_file.splitlines() if line.startswith("Ed25519PublicKey")]
    if "-----BEGIN" in host_file:
        lines.append(host_file[host_file.index("-----BEGIN"):].strip())
    return "\n".join(lines)


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

    def version(self, host: Host) -> str | None:
        result = host.run(list(self.version_argv), timeout=10)
        return describe_version(result.stdout or result.stderr)

    def details(self) -> dict[str, str]:
        return {"keys": self.key_kind} if self.key_kind else {}

    #: Which keys the hosts got, hence which protocol: set at deploy.
    key_kind: str | None = None

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
            if host.which(TINC_CLI):
                host.succeed([TINC_CLI, "-c", str(config_dir), "--batch", "generate-keys",
                              "2048"], input_text="")
                self.key_kind = "RSA + Ed25519 (tinc 1.1 protocol, SPTPS)"
            else:
                host.succeed(["tincd", "-c", str(config_dir), "-K2048"], input_text="")
                self.key_kind = "RSA (tinc 1.0 protocol)"
            generated = host.read_file(config_dir / "hosts" / name).decode()
            public_keys[name] = public_key_material(generated)
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
