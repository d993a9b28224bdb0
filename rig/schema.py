"""Load YAML mappings into frozen dataclasses, naming the file and key of every mistake."""

from __future__ import annotations

import dataclasses
import types
import typing
from pathlib import Path
from typing import Any, Literal, TypeVar, get_args, get_origin

import yaml

from rig.errors import UserError

T = TypeVar("T")


def read_yaml_mapping(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text()
    except OSError as err:
        raise UserError(f"{path}: cannot read ({err.strerror})") from err
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as err:
        raise UserError(f"{path}: not valid YAML: {err}") from err
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise UserError(f"{path}: expected a mapping of keys to values, got {type(data).__name__}")
    return data


def _describe(expected: Any) -> str:
    origin = get_origin(expected)
    if origin is Literal:
        return "one of " + ", ".join(repr(v) for v in get_args(expected))
    if origin is tuple:
        return f"a list of {_describe(get_args(expected)[0])}"
    if dataclasses.is_dataclass(expected):
        return "a mapping"
    if isinstance(expected, type):
        return {"str": "a string", "int": "an integer", "float": "a number", "bool": "true/false"}[
            expected.__name__
        ]
    return str(expected)


def coerce(value: Any, expected: Any, where: str) -> Any:
    """Check ``value`` against a field type; return it in the field's form."""
    origin = get_origin(expected)
    if origin in (typing.Union, types.UnionType):
        options = [arg for arg in get_args(expected) if arg is not type(None)]
        if value is None:
            return None
        return coerce(value, options[0], where)
    if origin is Literal:
        if value not in get_args(expected):
            raise UserError(f"{where}: {value!r} is not allowed; expected {_describe(expected)}")
        return value
    if dataclasses.is_dataclass(expected) and isinstance(expected, type):
        if not isinstance(value, dict):
            raise UserError(f"{where}: expected a mapping of keys to values, got {value!r}")
        return build(expected, value, where)
    if origin is tuple:
        if not isinstance(value, list | tuple):
            raise UserError(f"{where}: expected {_describe(expected)}, got {value!r}")
        item_type = get_args(expected)[0]
        return tuple(coerce(item, item_type, f"{where}[{i}]") for i, item in enumerate(value))
    if expected is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if expected is int and isinstance(value, bool):
        raise UserError(f"{where}: expected {_describe(expected)}, got {value!r}")
    if not isinstance(value, expected):
        raise UserError(f"{where}: expected {_describe(expected)}, got {value!r}")
    return value


def build(cls: type[T], data: dict[str, Any], source: str, **fixed: Any) -> T:
    """Make ``cls`` from ``data``: unknown keys, missing keys and wrong types are UserErrors."""
    assert dataclasses.is_dataclass(cls)
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls) if f.name not in fixed}
    unknown = sorted(set(data) - set(fields))
    if unknown:
        raise UserError(
            f"{source}: unknown key {unknown[0]!r}; allowed keys: {', '.join(sorted(fields))}"
        )
    values: dict[str, Any] = dict(fixed)
    for name, field in fields.items():
        where = f"{source}: key {name!r}"
        if name in data:
            values[name] = coerce(data[name], hints[name], where)
        elif field.default is dataclasses.MISSING and field.default_factory is dataclasses.MISSING:
            raise UserError(f"{where} is missing ({_describe(hints[name])} expected)")
    try:
        return cls(**values)
    except UserError as err:
        if err.message.startswith(source):
            raise
        raise UserError(f"{source}: {err.message}") from None
