"""VPNs as the flake's NixOS services (`vpn-bench run --nixos`): the NixOS-managed adapter.

The hosts were deployed once with `vpn-bench deploy` (docs/real-hosts.md): their system
profile holds one specialisation per VPN (modules/specialisations.nix). Bringing a VPN up is
activating that specialisation with ``switch-to-configuration test`` (no rebuild, no new boot
entry) and waiting, bounded, for the VPN's systemd units; tearing it down is activating the
base system again (which stops those units) and wiping the VPN's run-time state, so the next
VPN starts from the same clean host.

The specialisation is taken from the *system profile*
(``/nix/var/nix/profiles/system/specialisation/<vpn>``), not from /run/current-system: once a
specialisation is active, /run/current-system is that specialisation (the activation script
links it to the activated toplevel: NixOS/nixpkgs nixos/modules/system/activation/
activation-script.nix, ``ln -sfn "$(readlink -f "$systemConfig")" /run/current-system``),
whose ``specialisation/`` is empty ("nested specialisations will be ignored",
nixos/modules/system/activation/specialisation.nix). The unit names and state paths
mirror modules/vpns/*.nix; overlay addresses come from vpn-configs (static plans, the LAN
for ``internal``) or, for VPNs whose addresses are derived from keys or assigned by a
coordinator, from the VPN's interface on the host.

It implements the same :class:`VpnAdapter` seam as the foreground-daemon adapters, so the
runner, plans, records, resume and report are unchanged.
"""

from __future__ import annotations

import ipaddress
import json
import shlex
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import ClassVar

from harness.hosts.base import CommandResult, Host
from harness.settings.addressing import coordinator, nth_address
from harness.settings.models import VpnSettings
from harness.vpns.base import VpnAdapter, VpnContext, VpnError

SYSTEM_PROFILE = PurePosixPath("/nix/var/nix/profiles/system")
#: Where the NixOS modules expect private key material (modules/lib/secrets.nix).
SECRETS_DIR = PurePosixPath("/var/lib/vpn-bench/secrets")
#: Seconds a switch-to-configuration may take.
SWITCH_TIMEOUT_S = 300.0
#: Seconds to wait for a VPN's units to be active, unless the run says otherwise.
UNIT_TIMEOUT_S = 120.0


def specialisation_dir(vpn: str) -> PurePosixPath:
    return SYSTEM_PROFILE / "specialisation" / vpn


def switch_argv(vpn: str | None) -> list[str]:
    """Activate ``vpn``'s specialisation (None: the base system) until the next switch or
    reboot: ``test`` leaves the boot default as `deploy` made it."""
    toplevel = specialisation_dir(vpn) if vpn is not None else SYSTEM_PROFILE
    return [str(toplevel / "bin" / "switch-to-configuration"), "test"]


#: Wait until a unit is active; stop early once it has failed.
_WAIT_SCRIPT = ('while ! systemctl is-active --quiet -- "$0"; do '
                'if systemctl is-failed --quiet -- "$0"; then '
                'echo "$0 failed" >&2; exit 3; fi; sleep 1; done')


def wait_unit_argv(unit: str) -> list[str]:
    """Poll ``unit`` on the host (the run's timeout bounds it there too)."""
    return ["sh", "-c", _WAIT_SCRIPT, unit]


def journal_argv(unit: str, lines: int) -> list[str]:
    return ["journalctl", "--no-pager", "-o", "short-iso", "-n", str(lines), "-u", unit]


@dataclass(frozen=True)
class NixosService:
    """How one VPN runs as NixOS services (mirrors modules/vpns/<vpn>.nix)."""

    #: Units active on every host once the VPN is up.
    units: tuple[str, ...] = ()
    #: Units only on the coordinator.
    coordinator_units: tuple[str, ...] = ()
    #: Paths its daemons create at run time; removed once the base system is active again.
    state: tuple[str, ...] = ()


def nixos_service(vpn: VpnSettings) -> NixosService:
    """The units and state of ``vpn``; names built from vpn-configs like the modules do."""
    option = vpn.options.get
    match vpn.name:
        case "internal":
            return NixosService()
        case "wireguard":
            return NixosService(units=(f"wireguard-{vpn.interface}.service",))
        case "nebula":
            return NixosService(units=(f"nebula@{option('network', 'vpb')}.service",))
        case "tinc":
            return NixosService(units=(f"tinc.{option('netname', 'vpb')}.service",))
        case "vpncloud":
            return NixosService(units=("vpncloud.service",))
        case "easytier":
            return NixosService(units=(f"easytier-{option('instance_name', 'vpb')}.service",))
        case "hyprspace":
            return NixosService(units=("hyprspace.service",))
        case "mycelium":
            return NixosService(units=("mycelium.service",), state=("/var/lib/mycelium",))
        case "yggdrasil":
            return NixosService(units=("yggdrasil-vpn-bench.service",),
                                state=("/run/vpn-bench-yggdrasil",))
        case "zerotier":
            return NixosService(units=("zerotierone.service",), state=("/var/lib/zerotier-one",))
        case "headscale":
            return NixosService(
                units=("tailscaled.service", "vpn-bench-tailscale-join.service"),
                coordinator_units=("headscale.service",),
                state=("/var/lib/tailscale", "/var/lib/headscale",
                       str(SECRETS_DIR / "headscale" / "authkey")))
    raise VpnError(f"{vpn.name}: no NixOS service description (add it to "
                   "harness/vpns/nixos.py when adding modules/vpns/<vpn>.nix)")


def parse_interface_addresses(stdout: str) -> list[str]:
    """Global addresses of ``ip -j addr show dev X`` output."""
    try:
        links = json.loads(stdout)
    except ValueError:
        return []
    found: list[str] = []
    for link in links if isinstance(links, list) else []:
        for info in link.get("addr_info", []) if isinstance(link, dict) else []:
            if isinstance(info, dict) and info.get("scope") == "global" and info.get("local"):
                found.append(str(info["local"]))
    return found


def pick_address(addresses: Sequence[str], subnet: str | None) -> str | None:
    """The first address inside ``subnet`` (any, without one)."""
    for address in addresses:
        if subnet is None or ipaddress.ip_address(address) in ipaddress.ip_network(subnet):
            return address
    return None


class NixosAdapter(VpnAdapter):
    """A VPN brought up by activating its NixOS specialisation on every host."""

    name: ClassVar[str] = "nixos"

    def __init__(self, settings: VpnSettings, *, address_hosts: Sequence[str],
                 secrets: Path | None = None, unit_timeout_s: float = UNIT_TIMEOUT_S,
                 poll_s: float = 1.0) -> None:
        super().__init__(settings)
        self.service = nixos_service(settings)
        #: Host order of the address plans (vpn-configs/testbed.toml, as the modules use).
        self.address_hosts = list(address_hosts)
        self.secrets = secrets
        self.unit_timeout_s = unit_timeout_s
        self.poll_s = poll_s
        self._switched: list[Host] = []
        self._coordinator: str | None = None
        self.teardown_problems: list[str] = []

    # -- availability ------------------------------------------------------------------
    def unavailable_reason(self, host: Host) -> str | None:
        switch = switch_argv(self.settings.name)[0]
        if host.run(["test", "-x", switch], timeout=10).ok:
            return None
        return (f"no specialisation {self.settings.name} on {host.name} ({switch} missing): "
                "deploy the hosts with `vpn-bench deploy --inventory FILE`")

    def version(self, host: Host) -> str | None:
        """The specialisation's system store path: it names exactly what ran."""
        result = host.run(["readlink", "-f", str(specialisation_dir(self.settings.name))],
                          timeout=10)
        path = result.stdout.strip()
        return f"nixos {path}" if result.ok and path else None

    def units(self, host: str) -> list[str]:
        extra = self.service.coordinator_units if host == self._coordinator else ()
        return [*extra, *self.service.units]

    # -- lifecycle ---------------------------------------------------------------------
    def deploy(self, ctx: VpnContext) -> None:
        vpn = self.settings.name
        self._coordinator = coordinator(self.settings, ctx.hosts)
        for host in ctx.testbed.hosts:
            self._copy_secrets(host)
        for host in ctx.testbed.hosts:
            self._switched.append(host)
            result = host.run(switch_argv(vpn), timeout=SWITCH_TIMEOUT_S)
            if not result.ok:
                raise VpnError(f"on {host.name}: activating the {vpn} specialisation failed: "
                               f"{result.describe()}")
        if vpn == "headscale":
            self._share_headscale_key(ctx)
        for host in ctx.testbed.hosts:
            for unit in self.units(host.name):
                self._wait_unit(host, unit)
        if vpn == "zerotier":
            self._join_zerotier(ctx)

    def stop_host(self, ctx: VpnContext, name: str) -> None:
        """Stop the VPN on one host as a reconnect restart does: switch it to the base
        system (its units stop). Its state stays (keys, the ZeroTier membership, the
        Tailscale node, Headscale's database), so :meth:`start_host` brings the same node
        back; the teardown still wipes it."""
        host = ctx.host(name)
        result = host.run(switch_argv(None), timeout=SWITCH_TIMEOUT_S)
        if not result.ok:
            raise VpnError(f"on {name}: switching back to the base system failed: "
                           f"{result.describe()}")

    def start_host(self, ctx: VpnContext, name: str, *, booted: bool = False) -> None:
        """Start the VPN on one host again: switch to its specialisation and wait for its
        units. After a reboot (``booted``) the host runs its boot default, the base system,
        so the same switch applies. The run-time steps of deploy are not redone: the
        Headscale key file and the ZeroTier network membership are state on the host's disk
        and survive both the switch and a reboot; the units rejoin with them."""
        host = ctx.host(name)
        vpn = self.settings.name
        result = host.run(switch_argv(vpn), timeout=SWITCH_TIMEOUT_S)
        if not result.ok:
            raise VpnError(f"on {name}: activating the {vpn} specialisation failed: "
                           f"{result.describe()}")
        for unit in self.units(name):
            self._wait_unit(host, unit)

    def _copy_secrets(self, host: Host) -> None:
        """``<secrets>/secrets/<host>/<vpn>/*`` (the layout of `vpn-bench keys`) to the
        host's secrets directory, 0600, before the switch (the units check for them)."""
        if self.secrets is None:
            return
        source = self.secrets / "secrets" / host.name / self.settings.name
        if not source.is_dir():
            return
        for path in sorted(source.iterdir()):
            if path.is_file():
                host.write_file(SECRETS_DIR / self.settings.name / path.name,
                                path.read_bytes(), mode=0o600)

    def _wait_unit(self, host: Host, unit: str) -> None:
        result = host.run(wait_unit_argv(unit), timeout=self.unit_timeout_s)
        if not result.ok:
            what = "did not become active" if result.timed_out else "failed"
            journal = host.run(journal_argv(unit, 20), timeout=15).stdout.strip()
            raise VpnError(f"on {host.name}: {unit} {what} within {self.unit_timeout_s:g} s"
                           + (f"; its journal:\n{journal}" if journal else ""))

    def _share_headscale_key(self, ctx: VpnContext) -> None:
        """The coordinator's pre-auth key (written by vpn-bench-headscale-authkey.service) to
        every other host, where a path unit then runs `tailscale up`."""
        assert self._coordinator is not None
        source = ctx.host(self._coordinator)
        self._wait_unit(source, "vpn-bench-headscale-authkey.service")
        key_file = SECRETS_DIR / "headscale" / "authkey"
        key = source.read_text(key_file).strip()
        for host in ctx.testbed.hosts:
            if host.name != self._coordinator:
                host.write_file(key_file, key + "\n", mode=0o600)

    def _join_zerotier(self, ctx: VpnContext) -> None:
        """Network on the coordinator's controller, every host joins with path hints to the
        others, the controller admits each with its vpn-configs address (vpb-zerotier)."""
        assert self._coordinator is not None
        controller = ctx.host(self._coordinator)
        ids = {host.name: host.succeed(["vpb-zerotier", "node-id"], timeout=60).strip()
               for host in ctx.testbed.hosts}
        network = controller.succeed(["vpb-zerotier", "create-network"], timeout=60).strip()
        addresses = self.overlay_addresses(ctx)
        for host in ctx.testbed.hosts:
            hints = [f"{ids[other]}@{ctx.testbed.lan_address(other)}"
                     for other in ctx.hosts if other != host.name]
            host.succeed(["vpb-zerotier", "join", network, *hints], timeout=60)
        for name in ctx.hosts:
            controller.succeed(["vpb-zerotier", "authorize", network, ids[name],
                                addresses[name]], timeout=60)
        for host in ctx.testbed.hosts:
            host.succeed(["vpb-zerotier", "wait", network, f"{self.unit_timeout_s:g}"],
                         timeout=self.unit_timeout_s + 10)

    def overlay_addresses(self, ctx: VpnContext) -> dict[str, str]:
        addressing = self.settings.addressing
        if addressing.mode == "underlay":
            return {name: ctx.testbed.lan_address(name) for name in ctx.hosts}
        if addressing.mode == "static":
            assert addressing.subnet is not None
            return {name: nth_address(addressing.subnet, self._address_index(name))
                    for name in ctx.hosts}
        return {host.name: self._interface_address(host) for host in ctx.testbed.hosts}

    def _address_index(self, host: str) -> int:
        if host not in self.address_hosts:
            raise VpnError(f"host {host} is not in vpn-configs/testbed.toml's hosts "
                           f"({', '.join(self.address_hosts)}), so the NixOS modules gave it "
                           "no address")
        return self.address_hosts.index(host) + 1

    def _interface_address(self, host: Host) -> str:
        """The address the VPN gave its interface (derived from keys, or assigned)."""
        interface = self.settings.interface
        if interface is None:
            raise VpnError(f"{self.settings.name}: vpn-configs names no interface")
        deadline = time.monotonic() + self.unit_timeout_s
        while True:
            result = host.run(["ip", "-j", "addr", "show", "dev", interface], timeout=10)
            found = pick_address(parse_interface_addresses(result.stdout) if result.ok else [],
                                 self.settings.addressing.subnet)
            if found is not None:
                return found
            if time.monotonic() >= deadline:
                raise VpnError(f"on {host.name}: no address of {self.settings.addressing.subnet}"
                               f" on {interface} after {self.unit_timeout_s:g} s: "
                               f"{_brief(result)}")
            time.sleep(self.poll_s)

    def teardown(self, ctx: VpnContext) -> None:
        """Back to the base system on every host switched, then wipe the VPN's state; a
        host that cannot be reached is skipped here (the next session's switch resets it)."""
        problems: list[str] = []
        for host in reversed(self._switched):
            try:
                result = host.run(switch_argv(None), timeout=SWITCH_TIMEOUT_S)
                if not result.ok:
                    problems.append(f"{host.name}: {result.describe()}")
                if self.service.state:
                    host.run(["rm", "-rf", "--", *self.service.state], timeout=30)
            except Exception as error:  # teardown goes on for the others
                problems.append(f"{host.name}: {error}")
        self._switched.clear()
        #: Kept for the caller; never raised: the next session's switch replaces whatever
        #: this one left active, and a raise here would end the whole run.
        self.teardown_problems = problems

    def details(self) -> dict[str, str]:
        return {"mode": "nixos", "specialisation": self.settings.name}

    def dead_daemons(self, ctx: VpnContext) -> list[str]:
        """Units of this VPN that are no longer active (once it was brought up)."""
        dead: list[str] = []
        for host in self._switched:
            for unit in self.units(host.name):
                result = host.run(["systemctl", "is-active", "--", unit], timeout=10)
                if result.returncode != 0:
                    dead.append(f"{host.name}/{unit} is {result.stdout.strip() or 'unknown'}")
        return dead

    def log_tails(self, ctx: VpnContext, lines: int = 30) -> dict[str, str]:
        tails: dict[str, str] = {}
        for host in self._switched:
            for unit in self.units(host.name):
                try:
                    result = host.run(journal_argv(unit, lines), timeout=15)
                except Exception as error:  # a log tail never fails a record
                    tails[f"{host.name}/{unit}"] = f"(journal not readable: {error})"
                    continue
                tails[f"{host.name}/{unit}"] = result.stdout.rstrip("\n")
        return tails


def _brief(result: CommandResult) -> str:
    text = (result.stderr or result.stdout).strip()
    return text.splitlines()[-1] if text else f"exit {result.returncode}"


def describe_switch(vpn: str) -> str:
    """One line for documentation and the dry run."""
    return shlex.join(switch_argv(vpn))
