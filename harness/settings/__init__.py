"""Typed view of ``vpn-configs/``: topology and per-VPN settings shared with the Nix modules."""
