"""VPN adapters: one module per VPN, all behind the interface in ``base``."""
