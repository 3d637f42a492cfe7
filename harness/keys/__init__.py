"""`vpn-bench keys`: key material for real hosts, in the layout of docs/secrets.md.

This package is the command only (CLI, VPN selection, the all-or-nothing writer). The key
logic is each VPN module's own (``harness/vpns/<vpn>.py``, ``VPN.keys``), the same code its
adapter deploys with; here its tools run on LocalMachine and return the files in memory, and
:mod:`harness.keys.writer` places them all at once, so a failed run never leaves a
half-regenerated site behind.
"""
