"""`vpn-bench hosts trust`: first contact with real hosts. Shows every host key's fingerprint
and pins the keys into the inventory's known_hosts, which every later connection verifies."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from harness.testbed.ssh.inventory import load_inventory
from harness.testbed.ssh.known_hosts import (
    fingerprints,
    host_pattern,
    pin,
    pinned_keys,
    read_known_hosts,
    scan_keys,
    write_known_hosts,
)

hosts_app = typer.Typer(no_args_is_help=True,
                        help="Real hosts of the ssh backend: pin their SSH host keys.")


@hosts_app.command()
def trust(
    inventory: Annotated[Path, typer.Option(help="Inventory of real hosts (TOML).")],
    yes: Annotated[bool, typer.Option(
        "--yes", help="Pin without asking (for scripts: check the printed fingerprints).")
    ] = False,
    replace: Annotated[bool, typer.Option(
        help="Also replace keys that differ from the pinned ones (a reinstalled host).")
    ] = False,
) -> None:
    """Scan each host's SSH keys (ssh-keyscan), show their fingerprints and pin them."""
    console = Console(soft_wrap=True, markup=False, highlight=False)
    parsed = load_inventory(inventory)
    text = read_known_hosts(parsed.known_hosts)
    refused: list[str] = []
    for host in parsed.hosts.values():
        pattern = host_pattern(host.address, host.port)
        keys, problem = scan_keys(host.address, host.port, parsed.connect_timeout)
        if not keys:
            refused.append(f"host {host.name} ({pattern}): no host key received: {problem}")
            continue
        pinned = pinned_keys(text, pattern)
        if pinned == keys:
            console.print(f"{host.name} ({pattern}): already pinned")
            continue
        console.print(f"{host.name} ({pattern}) offers:")
        for line in fingerprints(pattern, keys):
            console.print(f"  {line}")
        if pinned and not replace:
            refused.append(f"host {host.name} ({pattern}): its keys differ from the ones "
                           f"pinned in {parsed.known_hosts}; if the host was reinstalled, "
                           "check the fingerprints above and run again with --replace")
            continue
        if not yes and not typer.confirm(f"pin these keys for {host.name}?", default=False):
            refused.append(f"host {host.name}: not pinned (declined)")
            continue
        text = pin(text, pattern, keys)
        write_known_hosts(parsed.known_hosts, text)
        console.print(f"{host.name}: pinned in {parsed.known_hosts}")
    errors = Console(stderr=True, soft_wrap=True, markup=False, highlight=False)
    for line in refused:
        errors.print(f"error: {line}")
    if refused:
        raise typer.Exit(1)
