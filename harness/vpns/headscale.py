"""Headscale + Tailscale: a Headscale control server on the coordinator, ``tailscaled`` on every
host (the coordinator included) joined with one reusable pre-auth key.

Offline by construction: Headscale serves plain HTTP on its LAN address with its embedded DERP
relay and STUN server and no external DERP map (no Tailscale-hosted relays), MagicDNS off.
``tailscaled`` runs with ``--no-logs-no-support`` (no log upload), ``tailscale up`` with
``--accept-dns=false`` (the hosts share /etc/resolv.conf) and ``--netfilter-mode=off`` (there
is no iptables binary here). Every tailscaled gets ``TS_DEBUG_USE_DERP_HTTP=1`` in its
environment: Headscale advertises its embedded DERP node with no plain-HTTP marker, so without
the knob tailscaled speaks TLS to it, the relay never connects and the first packets between
peers are lost until direct paths form (docs/notes/extra-vpns.md, section 4). Plain HTTP was
chosen over TLS with a self-signed certificate because it needs no certificate plumbing and
matches the Nix module's ``server_url``.

Per-host separation: state dir and socket (``/run`` is per host), TUN name and UDP port per
namespace. The auth key reaches ``tailscale up`` as ``file:<path>`` (0600), not as an argument.
Addresses are assigned by Headscale at join time and read back with ``tailscale ip -4``.
"""

from __future__ import annotations

import json
from functools import partial
from pathlib import PurePosixPath

from harness.hosts.base import Host
from harness.settings.addressing import coordinator
from harness.vpns.base import BinaryRequirement, VpnAdapter, VpnContext, VpnError
from harness.vpns.description import VpnDescription
from harness.waiting import wait_until

_BUILD = "scripts/build-vpns.sh --only {}"
HEADSCALE = BinaryRequirement("headscale", nix="headscale", build_hint=_BUILD.format("headscale"),
                              version_args=("version",), daemon=True)
TAILSCALED = BinaryRequirement("tailscaled", nix="tailscale", build_hint=_BUILD.format("tailscale"),
                               version_args=("--version",), daemon=True)
TAILSCALE = BinaryRequirement("tailscale", nix="tailscale", build_hint=_BUILD.format("tailscale"),
                              version_args=("version",))

USER = "vpn-bench"
DERP_REGION_ID = 999
TAILSCALED_SOCKET = "/run/tailscaled.sock"
HEADSCALE_SOCKET = "/run/headscale.sock"
TAILSCALED_ENV = {"TS_DEBUG_USE_DERP_HTTP": "1"}


def server_url(address: str, port: int) -> str:
    host = f"[{address}]" if ":" in address else address
    return f"http://{host}:{port}"


def render_headscale_config(
    *, state_dir: PurePosixPath, listen_address: str, control_port: int, stun_port: int,
    prefix_v4: str,
) -> str:
    """Headscale's YAML config, written as JSON (a subset of YAML it reads as is)."""
    config = {
        "server_url": server_url(listen_address, control_port),
        "listen_addr": f"{listen_address}:{control_port}",
        "metrics_listen_addr": "127.0.0.1:9090",
        "grpc_listen_addr": "127.0.0.1:50443",
        "grpc_allow_insecure": False,
        "noise": {"private_key_path": str(state_dir / "noise_private.key")},
        "prefixes": {"v4": prefix_v4, "v6": "fd7a:115c:a1e0::/48", "allocation": "sequential"},
        "derp": {
            "server": {
                "enabled": True,
                "region_id": DERP_REGION_ID,
                "region_code": "vpb",
                "region_name": "vpn-bench embedded DERP",
                "verify_clients": True,
                "stun_listen_addr": f"{listen_address}:{stun_port}",
                "private_key_path": str(state_dir / "derp_server_private.key"),
                "automatically_add_embedded_derp_region": True,
                "ipv4": listen_address,
            },
            "urls": [],
            "paths": [],
            "auto_update_enabled": False,
        },
        "disable_check_updates": True,
        "database": {"type": "sqlite", "sqlite": {"path": str(state_dir / "db.sqlite"),
                                                   "write_ahead_log": True}},
        "log": {"level": "info", "format": "text"},
        "policy": {"mode": "file", "path": ""},
        "dns": {"magic_dns": False, "override_local_dns": False, "nameservers": {"global": []}},
        "unix_socket": HEADSCALE_SOCKET,
        "unix_socket_permission": "0770",
        "logtail": {"enabled": False},
        "taildrop": {"enabled": False},
    }
    return json.dumps(config, indent=2) + "\n"


def tailscaled_argv(*, state_dir: PurePosixPath, interface: str, port: int) -> list[str]:
    return ["tailscaled", f"--tun={interface}", f"--statedir={state_dir}",
            f"--socket={TAILSCALED_SOCKET}", f"--port={port}", "--no-logs-no-support"]


def tailscale_up_argv(*, login_server: str, auth_key_file: PurePosixPath,
                      hostname: str) -> list[str]:
    return ["tailscale", f"--socket={TAILSCALED_SOCKET}", "up",
            f"--login-server={login_server}", f"--auth-key=file:{auth_key_file}",
            f"--hostname={hostname}", "--accept-dns=false", "--netfilter-mode=off",
            "--timeout=45s"]


def user_id(users_json: str, name: str) -> int:
    """The numeric id of user ``name`` in ``headscale users list -o json`` output."""
    for user in json.loads(users_json) or []:
        if user.get("name") == name:
            return int(user["id"])
    raise VpnError(f"headscale has no user {name!r}: {users_json.strip()[:500]}")


def preauth_key(key_json: str) -> str:
    """The key from ``headscale preauthkeys create -o json`` output."""
    try:
        key = json.loads(key_json)["key"]
    except (ValueError, KeyError, TypeError):
        raise VpnError(f"unexpected preauthkeys output: {key_json.strip()[:500]}") from None
    if not isinstance(key, str) or not key:
        raise VpnError(f"headscale returned no pre-auth key: {key_json.strip()[:500]}")
    return key


def _succeeds(host: Host, argv: list[str]) -> bool:
    return host.run(argv, timeout=10).ok


class HeadscaleAdapter(VpnAdapter):
    name = "headscale"
    requirements = (HEADSCALE, TAILSCALED, TAILSCALE)

    addresses: dict[str, str]

    def version(self, host: Host) -> str | None:
        versions = []
        for requirement in (HEADSCALE, TAILSCALE):
            line = host.version_line(requirement.version_argv)
            versions.append(f"{requirement.binary} {line.split()[-1] if line else '?'}")
        return ", ".join(versions)

    def details(self) -> dict[str, str]:
        return {"control": "headscale over plain HTTP", "derp": "embedded, region 999",
                "tailscaled_env": "TS_DEBUG_USE_DERP_HTTP=1"}

    def overlay_addresses(self, ctx: VpnContext) -> dict[str, str]:
        return dict(self.addresses)

    def deploy(self, ctx: VpnContext) -> None:
        server = ctx.host(coordinator(self.settings, ctx.hosts))
        login_server = self._start_headscale(ctx, server)
        key = self._create_auth_key(ctx, server)
        interface = self.settings.interface or "tailscale0"
        for name in ctx.hosts:
            host = ctx.host(name)
            host.write_file(ctx.workdir(host) / "authkey", key + "\n")
            ctx.start(host, tailscaled_argv(state_dir=ctx.workdir(host) / "tailscale",
                                            interface=interface,
                                            port=self.settings.port()),
                      name="tailscaled", env=TAILSCALED_ENV)
        for name in ctx.hosts:
            host = ctx.host(name)
            wait_until(partial(_succeeds, host, ["test", "-S", TAILSCALED_SOCKET]),
                       timeout_s=20, what=f"tailscaled socket on {name}",
                       abort=lambda: self.dead_daemons(ctx))
        self.addresses = {}
        for name in ctx.hosts:  # in ring order, so Headscale hands out .1, .2, .3 in order
            host = ctx.host(name)
            host.succeed(tailscale_up_argv(login_server=login_server,
                                           auth_key_file=ctx.workdir(host) / "authkey",
                                           hostname=name), timeout=60)
            address = host.succeed(["tailscale", f"--socket={TAILSCALED_SOCKET}", "ip", "-4"])
            self.addresses[name] = address.strip().splitlines()[0]

    def _headscale(self, ctx: VpnContext, server: Host, *args: str) -> list[str]:
        return ["headscale", "-c", str(ctx.workdir(server) / "headscale.yaml"), *args]

    def _start_headscale(self, ctx: VpnContext, server: Host) -> str:
        state_dir = ctx.workdir(server) / "headscale"
        server.make_dir(state_dir)
        address = ctx.testbed.lan_address(server.name)
        port = self.settings.port("control")
        server.write_file(ctx.workdir(server) / "headscale.yaml", render_headscale_config(
            state_dir=state_dir, listen_address=address, control_port=port,
            stun_port=self.settings.port("stun"),
            prefix_v4=self.settings.addressing.subnet or "100.64.0.0/10",
        ))
        ctx.start(server, self._headscale(ctx, server, "serve"), name="headscale")
        wait_until(partial(_succeeds, server, self._headscale(ctx, server, "users", "list")),
                   timeout_s=30, what="headscale to answer on its socket",
                   abort=lambda: self.dead_daemons(ctx))
        return server_url(address, port)

    def _create_auth_key(self, ctx: VpnContext, server: Host) -> str:
        server.succeed(self._headscale(ctx, server, "users", "create", USER))
        users = server.succeed(self._headscale(ctx, server, "users", "list", "-o", "json"))
        key = server.succeed(self._headscale(
            ctx, server, "preauthkeys", "create", "-u", str(user_id(users, USER)),
            "--reusable", "-e", "2h", "-o", "json"))
        return preauth_key(key)


VPN = VpnDescription(adapter=HeadscaleAdapter, colour="#009E73", aliases=("tailscale",),
                     keys_elsewhere="the coordinator makes the pre-auth key at run time")
