"""The `vpn-bench` command line."""
