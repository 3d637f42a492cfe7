"""A minimal TOML writer for the config files adapters render (Python only reads TOML).

Covers what daemon configs need: strings, integers, booleans, lists of scalars, tables and
arrays of tables. Strings are written as JSON strings, which are valid TOML basic strings.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence

Scalar = str | int | bool


def _scalar(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return json.dumps(value)
    raise TypeError(f"cannot write {type(value).__name__} {value!r} as a TOML value")


def _value(value: object) -> str:
    if isinstance(value, Sequence) and not isinstance(value, str):
        return "[" + ", ".join(_scalar(item) for item in value) + "]"
    return _scalar(value)


def _is_table_array(value: object) -> bool:
    return (isinstance(value, Sequence) and not isinstance(value, str) and bool(value)
            and all(isinstance(item, Mapping) for item in value))


def _key(key: str) -> str:
    bare = key.replace("_", "").replace("-", "").isalnum() and key.isascii()
    return key if bare else json.dumps(key)


def dumps(document: Mapping[str, object], _prefix: str = "") -> str:
    """TOML text for ``document``: plain keys first, then tables, then arrays of tables."""
    lines: list[str] = []
    tables: list[tuple[str, Mapping[str, object]]] = []
    table_arrays: list[tuple[str, Sequence[Mapping[str, object]]]] = []
    for key, value in document.items():
        if isinstance(value, Mapping):
            tables.append((key, value))
        elif _is_table_array(value):
            assert isinstance(value, Sequence)
            table_arrays.append((key, value))
        else:
            lines.append(f"{_key(key)} = {_value(value)}")
    for key, table in tables:
        name = f"{_prefix}{_key(key)}"
        lines += ["", f"[{name}]", dumps(table, f"{name}.").rstrip("\n")]
    for key, items in table_arrays:
        name = f"{_prefix}{_key(key)}"
        for item in items:
            lines += ["", f"[[{name}]]", dumps(item, f"{name}.").rstrip("\n")]
    return "\n".join(lines).lstrip("\n") + "\n"
