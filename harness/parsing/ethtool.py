"""Parse ``ethtool -k`` (offload features)."""

from __future__ import annotations

#: Offloads that change what a packet-level impairment sees (super-packets vs MTU frames).
SEGMENTATION_OFFLOADS = (
    "tcp-segmentation-offload",
    "generic-segmentation-offload",
    "generic-receive-offload",
)

#: The features worth recording in run metadata.
RECORDED_OFFLOADS = (
    *SEGMENTATION_OFFLOADS,
    "large-receive-offload",
    "rx-checksumming",
    "tx-checksumming",
    "scatter-gather",
)


def parse_features(text: str) -> dict[str, bool]:
    """``{feature: enabled}`` from ``ethtool -k DEV`` output (``[fixed]`` markers dropped)."""
    features: dict[str, bool] = {}
    for line in text.splitlines():
        if ":" not in line or line.startswith("Features for"):
            continue
        name, _, value = line.partition(":")
        state = value.strip().split(" ", 1)[0]
        if state in ("on", "off"):
            features[name.strip()] = state == "on"
    return features
