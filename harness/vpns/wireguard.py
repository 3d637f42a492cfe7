"""WireGuard full mesh: the kernel module when this kernel has it, else wireguard-go.

Which data plane is used is detected per run, on the testbed host, by trying to create a
wireguard link (``Host.has_wireguard_module``); read-only commands never try it.
Keys: ``wg genkey`` per host, the public key is ``wg pubkey`` of it (deploy and
``vpn-bench keys`` alike).
"""

from __future__ import annotations

from functools import partial
from pathlib import PurePosixPath

from harness.hosts.base import Host
from harness.settings.addressing import prefix_length, static_overlay_address
from harness.vpns.base import (
    BinaryRequirement,
    VpnAdapter,
    VpnContext,
    interface_exists,
    require_binary,
)
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
from harness.waiting import wait_until

WG = BinaryRequirement("wg", nix="wireguard-tools", debian="wireguard-tools")
WIREGUARD_GO = BinaryRequirement("wireguard-go", nix="wireguard-go", debian="wireguard-go",
                                 version_args=("--version",), daemon=True)


def key_pair(host: Host) -> tuple[str, str]:
    """(private, public) made by ``wg`` on ``host``."""
    private = run_tool(host, ["wg", "genkey"]).strip()
    public = run_tool(host, ["wg", "pubkey"], stdin=private + "\n").strip()
    return private, public


def generate_keys(request: KeyRequest) -> list[KeyFile]:
    """Site material: ``secrets/<host>/wireguard/private.key``, ``public/wireguard/<host>.pub``."""
    files: list[KeyFile] = []
    for host in request.hosts:
        private, public = key_pair(request.machine)
        files.append(PrivateFile(host, WireGuardAdapter.name, "private.key", file_text(private)))
        files.append(PublicFile(WireGuardAdapter.name, f"{host}.pub", file_text(public)))
    return files


def describe_version(kernel: bool, wireguard_go: str | None, wg_tools: str | None) -> str:
    """Which data plane and version: "wireguard-go 0.0.20250522" or "kernel", then the
    wg tools' version, from the first lines of ``wireguard-go --version``/``wg --version``."""
    if kernel:
        plane = "kernel"
    elif wireguard_go:
        parts = wireguard_go.split()
        plane = f"wireguard-go {parts[1].removeprefix('v')}" if len(parts) > 1 else wireguard_go
    else:
        plane = "wireguard-go (not found)"
    tools = " ".join(wg_tools.split()[:2]) if wg_tools else "wg not found"
    return f"{plane} ({tools})"


def render_config(private_key: str, listen_port: int, peers: list[tuple[str, str, str]]) -> str:
    """wg(8) config; ``peers`` are (public key, overlay address, endpoint)."""
    lines = ["[Interface]", f"PrivateKey = {private_key}", f"ListenPort = {listen_port}"]
    for public_key, address, endpoint in peers:
        allowed = f"{address}/{128 if ':' in address else 32}"
        lines += ["", "[Peer]", f"PublicKey = {public_key}", f"AllowedIPs = {allowed}",
                  f"Endpoint = {endpoint}"]
    return "\n".join(lines) + "\n"


def userspace_ready(host: Host, interface: str) -> bool:
    """wireguard-go creates the interface before its control socket: ``wg`` finds no socket
    in between and falls back to the kernel ("Protocol not supported"), so wait for both."""
    return interface_exists(host, interface) and host.run(
        ["test", "-S", f"/run/wireguard/{interface}.sock"], timeout=5).ok


class WireGuardAdapter(VpnAdapter):
    name = "wireguard"
    requirements = (WG,)
    alternatives = (WIREGUARD_GO,)

    #: "kernel" or "wireguard-go", decided at deploy time by trying the kernel module.
    data_plane: str | None = None

    def unavailable_reason(self, host: Host) -> str | None:
        """wireguard-go is only needed where the kernel lacks WireGuard; whether it does is
        tried at run time only (trying needs root and a scratch namespace)."""
        reason = super().unavailable_reason(host)
        if reason or WIREGUARD_GO.is_on(host):
            return reason
        return (f"needs wireguard-go or the wireguard kernel module (tried at run time); "
                f"not installed: {WIREGUARD_GO.how_to_install()}")

    def version(self, host: Host) -> str | None:
        kernel = host.has_wireguard_module()
        return describe_version(
            kernel,
            None if kernel else host.version_line([WIREGUARD_GO.binary, "--version"]),
            host.version_line([WG.binary, "--version"]),
        )

    def details(self) -> dict[str, str]:
        return {"data_plane": self.data_plane} if self.data_plane else {}

    def overlay_addresses(self, ctx: VpnContext) -> dict[str, str]:
        return {host: static_overlay_address(self.settings, ctx.hosts, host)
                for host in ctx.hosts}

    def deploy(self, ctx: VpnContext) -> None:
        port = self.settings.port()
        addresses = self.overlay_addresses(ctx)
        keys = {name: key_pair(ctx.host(name)) for name in ctx.hosts}

        use_kernel = ctx.host(ctx.hosts[0]).has_wireguard_module()
        self.data_plane = "kernel" if use_kernel else "wireguard-go"
        if not use_kernel:
            for name in ctx.hosts:
                require_binary(ctx.host(name), WIREGUARD_GO)

        for name in ctx.hosts:
            host = ctx.host(name)
            peers = [
                (keys[peer][1], addresses[peer],
                 f"{ctx.testbed.lan_address(peer)}:{port}")
                for peer in ctx.hosts if peer != name
            ]
            host.write_file(self._config_path(ctx, name),
                            render_config(keys[name][0], port, peers))
            self._bring_up(ctx, name)

    def _config_path(self, ctx: VpnContext, name: str) -> PurePosixPath:
        return ctx.workdir(ctx.host(name)) / f"{self.settings.interface or 'wg0'}.conf"

    def _bring_up(self, ctx: VpnContext, name: str) -> None:
        """The interface of one host from its config file: what ``wg-quick up`` does."""
        interface = self.settings.interface or "wg0"
        host = ctx.host(name)
        address = self.overlay_addresses(ctx)[name]
        if self.data_plane == "kernel":
            host.succeed(["ip", "link", "add", interface, "type", "wireguard"])
        else:
            ctx.start(host, ["wireguard-go", "-f", interface], name="wireguard-go",
                      env={"WG_PROCESS_FOREGROUND": "1"})
            wait_until(partial(userspace_ready, host, interface), timeout_s=10,
                       what=f"{interface} and its control socket on {host.name}",
                       abort=lambda: self.dead_daemons(ctx))
        host.succeed(["wg", "setconf", interface, str(self._config_path(ctx, name))])
        host.succeed(["ip", "address", "add",
                      f"{address}/{prefix_length(self.settings)}", "dev", interface])
        host.succeed(["ip", "link", "set", interface, "mtu",
                      str(self.settings.mtu or 1420), "up"])

    def stop_host(self, ctx: VpnContext, name: str) -> None:
        """wireguard-go removes its interface when it stops; a kernel link is deleted."""
        super().stop_host(ctx, name)
        if self.data_plane == "kernel":
            ctx.host(name).run(["ip", "link", "del", self.settings.interface or "wg0"],
                               timeout=10)

    def start_host(self, ctx: VpnContext, name: str, *, booted: bool = False) -> None:
        """The whole per-host bring-up again: the interface, its keys and its address."""
        ctx.launches[:] = [launch for launch in ctx.launches if launch.host != name]
        self._bring_up(ctx, name)

    def teardown(self, ctx: VpnContext) -> None:
        interface = self.settings.interface or "wg0"
        if self.data_plane == "kernel":
            for name in ctx.hosts:
                ctx.host(name).run(["ip", "link", "del", interface], timeout=10)
        super().teardown(ctx)


VPN = VpnDescription(adapter=WireGuardAdapter, colour="#0072B2",
                     keys=KeyGeneration(tools=(WG,), generate=generate_keys))
