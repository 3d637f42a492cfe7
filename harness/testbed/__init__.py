"""Testbed backends: where the hosts live (namespaces here; SSH and VM drivers elsewhere)."""
