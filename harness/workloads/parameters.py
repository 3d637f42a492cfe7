"""Workload parameters from the outside: shared flags/plan keys, ``TEST.FIELD=VALUE``
assignments and ``[test.<name>]`` tables, all validated by the workload's own model.

Pure functions on the registry's parameter models. Every bad value becomes one
:class:`ParameterError` line naming where it came from, the parameter and its valid range.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal, get_args, get_origin

import annotated_types
from pydantic import ValidationError
from pydantic.fields import FieldInfo

from harness.errors import UsageError
from harness.workloads.base import SHARED, WorkloadParams
from harness.workloads.registry import TEST_NAMES, WORKLOADS

#: Test name -> that workload's parameters.
ParameterSet = dict[str, WorkloadParams]
#: Where a value came from, for error messages: (key, value) -> "--duration 0".
Label = Callable[[str, object], str]


class ParameterError(UsageError):
    """A workload parameter value outside its model's range (or naming no parameter)."""


@dataclass(frozen=True)
class SharedParameter:
    """A flag/plan key (``duration``) that sets one field in several workloads."""

    name: str
    #: (test, field) pairs it sets.
    targets: tuple[tuple[str, str], ...]
    description: str
    default: Any
    annotation: Any

    @property
    def flag(self) -> str:
        return "--" + self.name.replace("_", "-")


def _fields(test: str) -> dict[str, FieldInfo]:
    model: type[WorkloadParams] = WORKLOADS[test].params_model
    return model.model_fields


def _shared_name(info: FieldInfo) -> str | None:
    extra = info.json_schema_extra
    if isinstance(extra, dict):
        value = extra.get(SHARED)
        return value if isinstance(value, str) else None
    return None


def shared_parameters() -> dict[str, SharedParameter]:
    """Every shared name, from the ``shared=`` of the workloads' parameter fields."""
    found: dict[str, SharedParameter] = {}
    for test in TEST_NAMES:
        for field, info in _fields(test).items():
            name = _shared_name(info)
            if name is None:
                continue
            known = found.get(name)
            targets = (*(known.targets if known else ()), (test, field))
            found[name] = SharedParameter(name, targets, info.description or "",
                                          info.default, info.annotation)
    return found


def valid_range(info: FieldInfo) -> str:
    """Human description of what a field accepts: type and bounds."""
    kinds: dict[object, str] = {int: "a whole number", float: "a number",
                                bool: "true or false", str: "text"}
    if get_origin(info.annotation) is Literal:
        return "one of " + ", ".join(str(choice) for choice in get_args(info.annotation))
    kind = kinds.get(info.annotation, str(info.annotation))
    low = high = None
    for item in info.metadata:
        if isinstance(item, annotated_types.Ge):
            low = f"from {item.ge}"
        elif isinstance(item, annotated_types.Gt):
            low = f"above {item.gt}"
        elif isinstance(item, annotated_types.Le):
            high = f"to {item.le}"
        elif isinstance(item, annotated_types.Lt):
            high = f"below {item.lt}"
        elif isinstance(item, annotated_types.MultipleOf):
            kind += f" (a multiple of {item.multiple_of})"
    return " ".join(part for part in (kind, low, high) if part)


def _set(params: WorkloadParams, test: str, field: str, value: object,
         source: str) -> WorkloadParams:
    """``params`` with ``field`` = ``value``, validated by the model; errors name ``source``."""
    fields = _fields(test)
    if field not in fields:
        raise ParameterError(f"{source}: {test} has no parameter {field!r}; "
                             f"valid: {', '.join(fields)}")
    try:
        return type(params).model_validate({**params.model_dump(), field: value})
    except ValidationError as error:
        message = error.errors()[0]["msg"]
        raise ParameterError(f"{source}: {message}; valid for {test}.{field}: "
                             f"{valid_range(fields[field])}") from None


def fixed_label(text: str) -> Label:
    """A label that names the same source whatever the key (one ``--param``)."""
    return lambda _key, _value: text


def section_label(prefix: str) -> Label:
    """Labels ``{prefix} {key} = {value}``, e.g. ``plan file p.toml: [test.udp] port = 0``."""
    return lambda key, value: f"{prefix} {key} = {value!r}"


def default_parameters(tests: Iterable[str] = TEST_NAMES) -> ParameterSet:
    return {test: WORKLOADS[test].params_model() for test in tests}


def apply_shared(params: ParameterSet, values: Mapping[str, object],
                 label: Label) -> ParameterSet:
    """Set every field each shared name answers to; ``label`` says where a value came from
    (``--duration 0`` for a flag, ``plan file X: duration = 0`` for a plan key)."""
    shared = shared_parameters()
    result = dict(params)
    for name, value in values.items():
        if name not in shared:
            raise ParameterError(f"{label(name, value)}: not a workload "
                                 f"parameter; valid: {', '.join(shared)}")
        for test, field in shared[name].targets:
            if test in result:
                result[test] = _set(result[test], test, field, value, label(name, value))
    return result


def apply_fields(params: ParameterSet, test: str, values: Mapping[str, object],
                 label: Label) -> ParameterSet:
    """Set fields of one workload's parameters (a ``[test.<name>]`` table)."""
    result = dict(params)
    current = result.get(test, WORKLOADS[test].params_model())
    for field, value in values.items():
        current = _set(current, test, field, value, label(field, value))
    result[test] = current
    return result


def parse_assignment(text: str) -> tuple[str, str, str]:
    """``udp.bitrate_mbps=100`` -> ("udp", "bitrate_mbps", "100"), or a ParameterError."""
    target, equals, value = text.partition("=")
    test, dot, field = target.strip().partition(".")
    if not equals or not dot or not field or not value.strip():
        raise ParameterError(f"--param {text!r}: expected TEST.PARAMETER=VALUE, "
                             "e.g. udp.bitrate_mbps=100")
    if test not in WORKLOADS:
        raise ParameterError(f"--param {text!r}: unknown test {test!r}; "
                             f"valid: {', '.join(TEST_NAMES)}")
    return test, field.strip(), value.strip()


def apply_assignments(params: ParameterSet, texts: Iterable[str]) -> ParameterSet:
    result = dict(params)
    for text in texts:
        test, field, value = parse_assignment(text)
        result = apply_fields(result, test, {field: value}, fixed_label(f"--param {text}"))
    return result


def describe_parameters(test: str) -> list[tuple[str, str, str, str]]:
    """(field, default, valid range, description) of each parameter of ``test``."""
    rows = []
    for field, info in _fields(test).items():
        shared = _shared_name(info)
        note = f" Also set by --{shared.replace('_', '-')} / plan key {shared}." if shared else ""
        rows.append((field, f"{info.default:g}" if isinstance(info.default, float)
                     else str(info.default), valid_range(info), (info.description or "") + note))
    return rows
