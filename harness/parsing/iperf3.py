"""Read iperf3's ``--json`` output: the tool-level checks every iperf3 workload shares.

iperf3 (3.12 at least) exits 0 even when it reports ``"error"`` in its JSON, so every parse
checks that key first. The per-test figures are read by the workload modules
(harness/workloads/tcp.py, udp.py), which own their metrics models.
"""

from __future__ import annotations

import json
from typing import Any


class Iperf3Error(ValueError):
    """iperf3 reported an error, or its output is not a complete test result."""


def load(text: str) -> dict[str, Any]:
    """The JSON document, or Iperf3Error carrying iperf3's own error message."""
    try:
        document = json.loads(text)
    except json.JSONDecodeError as error:
        snippet = text.strip()[:200] or "<empty output>"
        raise Iperf3Error(f"iperf3 output is not JSON ({error.msg}): {snippet}") from None
    if not isinstance(document, dict):
        raise Iperf3Error("iperf3 output is not a JSON object")
    if document.get("error"):
        raise Iperf3Error(f"iperf3: {document['error']}")
    end = document.get("end")
    if not isinstance(end, dict) or ("sum_sent" not in end and "sum" not in end):
        raise Iperf3Error("iperf3 output has no end summary (test did not complete)")
    return document


def require_protocol(document: dict[str, Any], protocol: str) -> None:
    found = document.get("start", {}).get("test_start", {}).get("protocol")
    if found is not None and found != protocol:
        raise Iperf3Error(f"expected an iperf3 {protocol} result, got {found}")


def int_or_none(value: object) -> int | None:
    return int(value) if isinstance(value, int | float) else None


def forward_sender_streams(end: dict[str, Any]) -> list[dict[str, Any]]:
    """Sender-side summaries of the streams this client sent (``sender: true``)."""
    return [
        stream["sender"]
        for stream in end.get("streams", [])
        if isinstance(stream.get("sender"), dict) and stream["sender"].get("sender", True)
    ]
