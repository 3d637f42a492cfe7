"""VpnCloud: ``vpncloud genkey`` prints a key pair; the module trusts every host's public key."""

from __future__ import annotations

from harness.keys.files import KeyFile, KeyRequest, PrivateFile, PublicFile, file_text
from harness.keys.tools import VPNCLOUD, KeyMaterialError, run_text

VPN = "vpncloud"
TOOLS = (VPNCLOUD,)


def parse_genkey(output: str) -> tuple[str, str]:
    """(private, public) from ``vpncloud genkey``'s ``Private key:``/``Public key:`` lines."""
    fields = {}
    for line in output.splitlines():
        label, separator, value = line.partition(":")
        if separator and value.strip():
            fields[label.strip()] = value.strip()
    try:
        return fields["Private key"], fields["Public key"]
    except KeyError:
        raise KeyMaterialError(
            f"vpncloud genkey printed no 'Private key:'/'Public key:' lines: {output!r}") from None


def generate(request: KeyRequest) -> list[KeyFile]:
    files: list[KeyFile] = []
    for host in request.hosts:
        private, public = parse_genkey(run_text(["vpncloud", "genkey"]))
        files.append(PrivateFile(host, VPN, "private.key", file_text(private)))
        files.append(PublicFile(VPN, f"{host}.pub", file_text(public)))
    return files
