"""``vpn-bench keys``: the typer command function (registered by harness.cli.app)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from harness.keys.make import make_keys
from harness.keys.selection import key_vpns, select_vpns
from harness.keys.writer import RollbackError
from harness.vpns.material import KeyMaterialError

VPN_HELP = f"VPN(s), comma list or repeated: {', '.join(key_vpns())}; 'all' (default)."


def keys_command(
    out: Annotated[Path, typer.Option(
        help="Output directory: public/<vpn>/ for the site, secrets/<host>/<vpn>/ for the "
             "hosts.")] = Path("secrets"),
    vpn: Annotated[list[str], typer.Option("--vpn", help=VPN_HELP)] = [],  # noqa: B006
    force: Annotated[bool, typer.Option(
        help="Replace existing key files of the selected VPNs (all hosts together).")] = False,
) -> None:
    """Generate key material for the hosts of vpn-configs, in the layout of docs/secrets.md."""
    vpns = select_vpns(vpn)
    try:
        report = make_keys(out, vpns, force=force)
    except RollbackError as error:
        typer.echo(f"error: the keys in {out} are INCONSISTENT now: {error}", err=True)
        raise typer.Exit(1) from None
    except KeyMaterialError as error:
        typer.echo(f"error: {error}; nothing was written", err=True)
        raise typer.Exit(1) from None
    if report.replaced_units:
        typer.echo(f"replaced {len(report.replaced_units)} directories of earlier keys")
    typer.echo(f"wrote {len(report.written)} files for {', '.join(vpns)} to {out}:")
    typer.echo(f"  {out / 'public'}/<vpn>/  -> copy into <site>/public/ and git add it")
    typer.echo(f"  {out / 'secrets'}/<host>/<vpn>/  -> copy to "
               "<host>:/var/lib/vpn-bench/secrets/<vpn>/ (root, 0700/0600); never commit")
