"""tinc 1.0 in router mode: every host holds every host file; the others ConnectTo the
coordinator and learn the rest through it (direct UDP follows once they know each other).

Keys: an RSA pair per host from ``tincd -K`` (:func:`rsa_key_pair`, for deploy and
``vpn-bench keys``). tinc 1.1's ``tincd`` has no ``-K`` and other key files, so
``vpn-bench keys`` checks the version first.
"""

from __future__ import annotations

from pathlib import PurePosixPath

from harness.hosts.base import Host
from harness.settings.addressing import coordinator, prefix_length, static_overlay_address
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

TINCD = BinaryRequirement("tincd", nix="tinc (1.0, not tinc_pre)", debian="tinc", daemon=True)
RSA_BITS = 2048
PEM_START = "-----BEGIN"


def rsa_key_pair(host: Host, config_dir: PurePosixPath, name: str) -> tuple[str, str]:
    """(private, public) PEM blocks from ``tincd -K`` in ``config_dir``, which must hold a
    tinc.conf naming ``name``; both files stay there, where tincd reads them."""
    host.make_dir(config_dir / "hosts")
    # Empty stdin: tincd -K asks where to save and takes the default for an empty answer.
    run_tool(host, ["tincd", "-c", str(config_dir), f"-K{RSA_BITS}"], stdin="")
    private = host.read_text(config_dir / "rsa_key.priv")
    public = host.read_text(config_dir / "hosts" / name)
    if PEM_START not in private or PEM_START not in public:
        raise KeyMaterialError(f"tincd -K wrote no PEM key pair in {config_dir}")
    # tincd starts the files with an empty line; the PEM block alone is the contract.
    return private[private.index(PEM_START):], public[public.index(PEM_START):]


def require_tinc_1_0(version_output: str) -> None:
    first = version_output.strip().splitlines()[0] if version_output.strip() else ""
    if not first.startswith("tinc version 1.0"):
        raise KeyMaterialError(
            f"tincd reports {first!r}; the tinc module needs tinc 1.0 (Debian package tinc, "
            "Nix package tinc, not tinc_pre)")


def generate_keys(request: KeyRequest) -> list[KeyFile]:
    """Site material: ``secrets/<host>/tinc/rsa_key.priv``, ``public/tinc/<host>.pub``."""
    vpn, machine = TincAdapter.name, request.machine
    require_tinc_1_0(run_tool(machine, ["tincd", "--version"]))
    files: list[KeyFile] = []
    for host in request.hosts:
        config_dir = request.workdir / f"tinc-{host}"
        machine.write_file(config_dir / "tinc.conf", f"Name = {host}\n")
        private, public = rsa_key_pair(machine, config_dir, host)
        files.append(PrivateFile(host, vpn, "rsa_key.priv", file_text(private)))
        files.append(PublicFile(vpn, f"{host}.pub", file_text(public)))
    return files


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


def tinc_options(settings: VpnSettings) -> dict[str, str]:
    """Mode, cipher and digest: the NixOS module reads the same ``[options]`` with the same
    defaults (modules/lib/plans.nix; tests/nix/test_runtime_settings.py compares)."""
    defaults = {"mode": "router", "cipher": "aes-256-cbc", "digest": "sha256"}
    return {key: str(settings.options.get(key, default)) for key, default in defaults.items()}


class TincAdapter(VpnAdapter):
    name = "tinc"
    requirements = (TINCD,)

    def overlay_addresses(self, ctx: VpnContext) -> dict[str, str]:
        return {host: static_overlay_address(self.settings, ctx.hosts, host)
                for host in ctx.hosts}

    def deploy(self, ctx: VpnContext) -> None:
        interface = self.settings.interface or "tinc.vpb"
        port = self.settings.port()
        hub = coordinator(self.settings, ctx.hosts)
        addresses = self.overlay_addresses(ctx)
        options = tinc_options(self.settings)
        config_dirs: dict[str, PurePosixPath] = {}
        public_keys: dict[str, str] = {}
        for name in ctx.hosts:
            host = ctx.host(name)
            config_dir = ctx.workdir(host) / "tinc"
            config_dirs[name] = config_dir
            host.write_file(config_dir / "tinc.conf", render_tinc_conf(
                name, interface, options["mode"], port, None if name == hub else hub,
                options["cipher"], options["digest"],
            ))
            public_keys[name] = rsa_key_pair(host, config_dir, name)[1]
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


VPN = VpnDescription(adapter=TincAdapter, colour="#8C564B",
                     keys=KeyGeneration(tools=(TINCD,), generate=generate_keys))
