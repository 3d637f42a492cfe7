"""`python -m harness` is `vpn-bench`."""

from harness.cli.app import main

main()
