"""EasyTier: one network secret shared by every host (members authenticate with it)."""

from __future__ import annotations

import secrets

from harness.keys.files import KeyFile, KeyRequest, PrivateFile, file_text

VPN = "easytier"
TOOLS = ()
SECRET_BYTES = 32  # 64 lowercase hex characters, what the module checks for


def generate(request: KeyRequest) -> list[KeyFile]:
    secret = secrets.token_hex(SECRET_BYTES)
    return [PrivateFile(host, VPN, "network.secret", file_text(secret)) for host in request.hosts]
