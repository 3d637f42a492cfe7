"""Workloads: the measurements run over a VPN, one module per test kind."""
