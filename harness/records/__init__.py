"""Typed, versioned result records and their on-disk store."""
