"""Yggdrasil: the ``PrivateKey`` of ``yggdrasil -genconf -json`` per host.

Optional for the module (it generates one at first start); made here so that a site's
overlay addresses are known, and stay the same, before the hosts ever run.
"""

from __future__ import annotations

import json
import re

from harness.keys.files import KeyFile, KeyRequest, PrivateFile, file_text
from harness.keys.tools import YGGDRASIL, KeyMaterialError, run_text

VPN = "yggdrasil"
TOOLS = (YGGDRASIL,)
PRIVATE_KEY = re.compile(r"[0-9a-f]{128}")


def private_key_of(genconf_json: str) -> str:
    try:
        key = json.loads(genconf_json).get("PrivateKey", "")
    except (json.JSONDecodeError, AttributeError):
        key = ""
    if not isinstance(key, str) or not PRIVATE_KEY.fullmatch(key):
        raise KeyMaterialError("yggdrasil -genconf -json printed no 128-hex PrivateKey")
    return key


def generate(request: KeyRequest) -> list[KeyFile]:
    return [PrivateFile(host, VPN, "private.key",
                        file_text(private_key_of(run_text(["yggdrasil", "-genconf", "-json"]))))
            for host in request.hosts]
