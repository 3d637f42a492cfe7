"""vpn-bench harness: deploys VPNs on a testbed, runs workloads and writes typed records."""

__version__ = "0.1.0"
