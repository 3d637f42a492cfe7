"""`vpn-bench keys`: key material for real hosts, in the layout of docs/secrets.md.

Each VPN has a generator module that calls its real tool (wg, nebula-cert, tincd, ...) and
returns the files in memory; :mod:`harness.keys.writer` places them all at once, so a failed
run never leaves a half-regenerated site behind.
"""
