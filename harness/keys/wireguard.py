"""WireGuard: ``wg genkey`` per host; the public file is ``wg pubkey`` of it."""

from __future__ import annotations

from harness.keys.files import KeyFile, KeyRequest, PrivateFile, PublicFile, file_text
from harness.keys.tools import WG, run_text

VPN = "wireguard"
TOOLS = (WG,)


def generate(request: KeyRequest) -> list[KeyFile]:
    files: list[KeyFile] = []
    for host in request.hosts:
        private = run_text(["wg", "genkey"]).strip()
        public = run_text(["wg", "pubkey"], stdin=private + "\n").strip()
        files.append(PrivateFile(host, VPN, "private.key", file_text(private)))
        files.append(PublicFile(VPN, f"{host}.pub", file_text(public)))
    return files
