"""The local backend: every host is a network namespace on this machine."""
