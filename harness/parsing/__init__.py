"""Pure parsers of tool output (iperf3 JSON, iputils ping, ethtool)."""
