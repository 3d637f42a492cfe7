"""ZeroTier with a self-hosted network controller and a moon on the coordinator, no public roots
needed: members get their static vpn-configs addresses from the controller.

Run here with zerotier-one 1.14.1 built from source (``scripts/build-vpns.sh``) on the local
testbed, whose namespaces have no route out: the three members come up, are authorised and
carry ping and TCP (``tests/integration/test_run_vpns.py``, ``test_extra_vpns.py``). How, from
ZeroTierOne's source (``one.cpp``, ``service/README.md``, ``controller/README.md``,
``OneService.cpp``, ``osdep/LinuxEthernetTap.cpp``):

* identities are made beforehand with ``zerotier-idtool generate`` into each host's own home
  directory (passed to ``zerotier-one`` as its argument), so node IDs are known before start;
* a node only talks to peers whose identity it knows, and identities are normally looked up at
  the (public) planet roots. The coordinator is therefore made a *moon* (a private root):
  ``zerotier-idtool initmoon``/``genmoon`` with its LAN address as stable endpoint, and the
  signed moon file goes to ``moons.d/<world id>.moon`` on the other hosts, which orbit it at
  start. ``local.conf`` adds direct path hints to every peer, turns off port mapping, the
  TCP fallback relay (a ZeroTier-hosted server) and software updates;
* the built-in planet still lists ZeroTier's public roots and cannot be removed without a
  custom planet file (made with ``mkworld``, not part of the package). zerotier-one will try
  them and fail: the testbed has no route out, so nothing leaves it;
* the controller is the coordinator's own zerotier-one (network ID = its node ID + ``000001``),
  configured over the local JSON API (``/controller/network/...``) with curl. nixpkgs builds
  ``zerotierone`` without the controller unless ``enableUnfree``; deploy says so when the API
  answers 404;
* the TAP device is named through ``devicemap`` (``<network id>=<interface>``) and the network
  is joined through the API once the controller knows every member.

Nothing depends on the public roots: the moon and the ``local.conf`` hints give every member
the others' identities and paths, and the controller is local.
"""

from __future__ import annotations

import json
from functools import partial

from harness.hosts.base import Host
from harness.settings.addressing import coordinator, static_overlay_address
from harness.vpns.base import BinaryRequirement, VpnAdapter, VpnContext, VpnError
from harness.vpns.description import VpnDescription
from harness.waiting import wait_until

ZEROTIER_ONE = BinaryRequirement("zerotier-one", nix="zerotierone", version_args=("-v",),
                                  daemon=True)
ZEROTIER_IDTOOL = BinaryRequirement("zerotier-idtool", nix="zerotierone", version_args=("-v",))
CURL = BinaryRequirement("curl", nix="curl", debian="curl")
NETWORK_SUFFIX = "000001"


def node_id(identity_public: str) -> str:
    """The 10-hex-digit address at the start of ``identity.public`` (``id:0:key``)."""
    address = identity_public.strip().split(":", 1)[0]
    if len(address) != 10 or any(c not in "0123456789abcdef" for c in address):
        raise VpnError(f"not a ZeroTier identity: {identity_public[:80]!r}")
    return address


def network_id(controller_node_id: str) -> str:
    return controller_node_id + NETWORK_SUFFIX


def moon_world_id(root_node_id: str) -> str:
    """genmoon sets the world ID to the root's address; moons.d files are named by 16 digits."""
    return root_node_id.rjust(16, "0")


def moon_definition(initmoon_json: str, endpoint: str) -> str:
    """``initmoon`` output with the root's stable endpoint (``ip/port``) filled in."""
    moon = json.loads(initmoon_json)
    moon["roots"][0]["stableEndpoints"] = [endpoint]
    return json.dumps(moon, indent=2) + "\n"


def render_local_conf(*, port: int, hints: dict[str, str]) -> str:
    """local.conf: ``hints`` maps peer node IDs to ``ip/port`` physical paths."""
    config = {
        "physical": {},
        "virtual": {peer: {"try": [path]} for peer, path in hints.items()},
        "settings": {
            "primaryPort": port,
            "allowSecondaryPort": False,
            "portMappingEnabled": False,
            "allowTcpFallbackRelay": False,
            "softwareUpdate": "disable",
        },
    }
    return json.dumps(config, indent=2) + "\n"


def network_config(subnet: str, mtu: int | None) -> dict[str, object]:
    """Controller network object: private, static assignments only, one managed route."""
    config: dict[str, object] = {
        "name": "vpn-bench",
        "private": True,
        "v4AssignMode": {"zt": False},
        "v6AssignMode": {"zt": False, "rfc4193": False, "6plane": False},
        "ipAssignmentPools": [],
        "routes": [{"target": subnet, "via": None}],
    }
    if mtu is not None:
        config["mtu"] = mtu
    return config


def member_config(address: str) -> dict[str, object]:
    return {"authorized": True, "ipAssignments": [address]}


class ZeroTierAdapter(VpnAdapter):
    name = "zerotier"
    requirements = (ZEROTIER_ONE, ZEROTIER_IDTOOL, CURL)

    def overlay_addresses(self, ctx: VpnContext) -> dict[str, str]:
        return {host: static_overlay_address(self.settings, ctx.hosts, host)
                for host in ctx.hosts}

    def deploy(self, ctx: VpnContext) -> None:
        port = self.settings.port()
        root = coordinator(self.settings, ctx.hosts)
        ids = {name: self._make_identity(ctx, ctx.host(name)) for name in ctx.hosts}
        nwid = network_id(ids[root])
        moon = self._make_moon(ctx, ctx.host(root), f"{ctx.testbed.lan_address(root)}/{port}")
        for name in ctx.hosts:
            host = ctx.host(name)
            home = ctx.workdir(host) / "home"
            hints = {ids[peer]: f"{ctx.testbed.lan_address(peer)}/{port}"
                     for peer in ctx.hosts if peer != name}
            host.write_file(home / "local.conf", render_local_conf(port=port, hints=hints))
            host.write_file(home / "devicemap",
                            f"{nwid}={self.settings.interface or 'ztvpb0'}\n")
            if name != root:
                host.write_file(home / "moons.d" / f"{moon_world_id(ids[root])}.moon", moon)
            ctx.start(host, ["zerotier-one", "-U", f"-p{port}", str(home)], name="zerotier-one")
        server = ctx.host(root)
        self._api(ctx, server, "POST", f"/controller/network/{nwid}",
                  network_config(self.settings.addressing.subnet or "", self.settings.mtu),
                  missing="the coordinator's zerotier-one has no network controller (nixpkgs "
                          "builds zerotierone without it unless enableUnfree = true)")
        for name, address in self.overlay_addresses(ctx).items():
            self._api(ctx, server, "POST", f"/controller/network/{nwid}/member/{ids[name]}",
                      member_config(address))
        for name in ctx.hosts:
            self._api(ctx, ctx.host(name), "POST", f"/network/{nwid}", {})

    def _make_identity(self, ctx: VpnContext, host: Host) -> str:
        home = ctx.workdir(host) / "home"
        host.make_dir(home)
        secret = home / "identity.secret"
        host.succeed(["zerotier-idtool", "generate", str(secret), str(home / "identity.public")])
        host.write_file(secret, host.read_file(secret))  # rewritten 0600, whatever idtool used
        return node_id(host.read_file(home / "identity.public").decode())

    def _make_moon(self, ctx: VpnContext, root: Host, endpoint: str) -> bytes:
        """The signed moon file for ``root`` (genmoon writes it into its working directory)."""
        moon_dir = ctx.workdir(root) / "moon"
        root.make_dir(moon_dir)
        home = ctx.workdir(root) / "home"
        definition = root.succeed(["zerotier-idtool", "initmoon", str(home / "identity.public")])
        root.write_file(moon_dir / "moon.json", moon_definition(definition, endpoint))
        listing = root.succeed(["sh", "-c", 'cd "$1" && zerotier-idtool genmoon moon.json '
                                '>/dev/null && ls -1 -- *.moon', "sh", str(moon_dir)])
        files = listing.split()
        if len(files) != 1:
            raise VpnError(f"zerotier-idtool genmoon wrote {files or 'no moon file'}")
        return root.read_file(moon_dir / files[0])

    def _api(self, ctx: VpnContext, host: Host, method: str, path: str, body: object,
             missing: str | None = None) -> None:
        """One call to the local JSON API, authenticated by a header file (token off argv)."""
        home = ctx.workdir(host) / "home"
        header = ctx.workdir(host) / "api-auth.header"
        wait_until(partial(_has_token, host, str(home / "authtoken.secret")), timeout_s=30,
                   what=f"zerotier-one's authtoken on {host.name}",
                   abort=lambda: self.dead_daemons(ctx))
        token = host.read_file(home / "authtoken.secret").decode().strip()
        host.write_file(header, f"X-ZT1-Auth: {token}\n")
        argv = ["curl", "--silent", "--show-error", "--max-time", "10", "--retry", "10",
                "--retry-connrefused", "--retry-delay", "1", "--write-out", "\n%{http_code}",
                "-H", f"@{header}", "-H", "Content-Type: application/json", "-X", method,
                "--data-binary", "@-", f"http://127.0.0.1:{self.settings.port()}{path}"]
        result = host.run(argv, timeout=60, input_text=json.dumps(body))
        status = result.stdout.rstrip().rsplit("\n", 1)[-1]
        if status == "404" and missing:
            raise VpnError(missing)
        if not result.ok or status != "200":
            raise VpnError(f"zerotier API {method} {path} on {host.name} answered {status}: "
                           f"{result.describe()}")


def _has_token(host: Host, path: str) -> bool:
    return host.run(["test", "-s", path], timeout=5).ok


VPN = VpnDescription(adapter=ZeroTierAdapter, colour="#E69F00",
                     keys_elsewhere="zerotier-one makes node identities on the host at first start")
