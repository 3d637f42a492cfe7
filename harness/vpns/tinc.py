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

TINCD = BinaryRequirement("tincd", nix="tinc_pre", debian="tinc", daemon=True)
TINC_CLI = "tinc"  # tinc 1.1's control program; tinc 1.0 has none
TINC_VERSION = re.compile(r"tinc version (\S+) \(.*protocol ([0-9.]+)\)")
RSA_BITS = 2048
PEM_START = "-----BEGIN"


def rsa_keygen_argv(version_output: str, conf: str) -> list[str]:
    """The command that writes ``rsa_key.priv`` and ``hosts/<Name>`` into ``conf``: tinc 1.0's
    ``tincd -K`` or tinc 1.1's ``tinc generate-rsa-keys`` (same PEM files), by the version."""
    first = version_output.strip().splitlines()[0] if version_output.strip() else ""
    if first.startswith("tinc version 1.0"):
        return ["tincd", "-c", conf, f"-K{RSA_BITS}"]
    if first.startswith("tinc version 1.1"):
        return [TINC_CLI, "-c", conf, "--batch", "generate-rsa-keys", str(RSA_BITS)]
    raise KeyMaterialError(f"tincd reports {first!r}; expected tinc 1.0 or 1.1")


def rsa_key_pair(host: Host, config_dir: PurePosixPath, name: str,
                 version_output: str) -> tuple[str, str]:
    """(private, public) PEM blocks in ``config_dir``, which must hold a tinc.conf naming
    ``name``; both files stay there, where tincd reads them."""
    host.make_dir(config_dir / "hosts")
    # Empty stdin: tincd -K asks where to save and takes the default for an empty answer.
    run_tool(host, rsa_keygen_argv(version_output, str(config_dir)), stdin="")
    private = host.read_text(config_dir / "rsa_key.priv")
    public = host.read_text(config_dir / "hosts" / name)
    if PEM_START not in private or PEM_START not in public:
        raise KeyMaterialError(f"tinc key generation wrote no PEM key pair in {config_dir}")
    # tincd starts the files with an empty line; the PEM block alone is the contract.
    return private[private.index(PEM_START):], public[public.index(PEM_START):]


def generate_keys(request: KeyRequest) -> list[KeyFile]:
    """Site material: ``secrets/<host>/tinc/rsa_key.priv``, ``public/tinc/<host>.pub`` (RSA:
    the NixOS module's host files carry RSA keys)."""
    vpn, machine = TincAdapter.name, request.machine
    version_output = run_tool(machine, ["tincd", "--version"])
    files: list[KeyFile] = []
    for host in request.hosts:
        config_dir = request.workdir / f"tinc-{host}"
        machine.write_file(config_dir / "tinc.conf", f"Name = {host}\n")
        private, public = rsa_key_pair(machine, config_dir, host, version_output)
        files.append(PrivateFile(host, vpn, "rsa_key.priv", file_text(private)))
        files.append(PublicFile(vpn, f"{host}.pub", file_text(public)))
    return files


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
    if PEM_START in host_file:
        lines.append(host_file[host_file.index(PEM_START):].strip())
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


def tinc_options(settings: VpnSettings) -> dict[str, str]:
    """Mode, cipher and digest: the NixOS module reads the same ``[options]`` with the same
    defaults (modules/lib/plans.nix; tests/nix/test_runtime_settings.py compares)."""
    defaults = {"mode": "router", "cipher": "aes-256-cbc", "digest": "sha256"}
    return {key: str(settings.options.get(key, default)) for key, default in defaults.items()}


class TincAdapter(VpnAdapter):
    name = "tinc"
    requirements = (TINCD,)

    def version(self, host: Host) -> str | None:
        result = host.run(list(TINCD.version_argv), timeout=10)
        return describe_version(result.stdout or result.stderr)

    def details(self) -> dict[str, str]:
        return {"keys": self.key_kind} if self.key_kind else {}

    #: Which keys the hosts got, hence which protocol: set at deploy.
    key_kind: str | None = None

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
            # tinc 1.1's generate-keys appends the public keys to hosts/<name>, creating the
            # file but not the directory.
            host.make_dir(config_dir / "hosts")
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


VPN = VpnDescription(adapter=TincAdapter, colour="#8C564B",
                     keys=KeyGeneration(tools=(TINCD,), generate=generate_keys))
