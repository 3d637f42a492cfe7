"""What the hosts were doing while a test ran (CPU)."""
