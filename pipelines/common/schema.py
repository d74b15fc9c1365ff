"""Strict conversion of plain YAML data into typed dataclasses.

Every config section, job config and stage spec is a dataclass; `build(cls, data, where)` checks
that every key is known, every required key is present and every value has the declared type, and
raises ConfigError naming the key path and the file it came from. Unlike `**kwargs`-style configs, a
misspelt key is an error, and the closest known key is suggested.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import difflib
import math
import types
import typing
from collections.abc import Callable, Mapping
from typing import Annotated, Any, Literal, TypeVar, Union

from pipelines.core.errors import ConfigError
from pipelines.core.names import MASK, is_secret_key

T = TypeVar("T")

# `where(key_path)` returns a human description of where a key came from (a file, --set, a CLI flag).
Where = Callable[[str], str]


def _nowhere(path: str) -> str:
    return "config"


def build(cls: type[T], data: Any, where: Where = _nowhere, path: str = "") -> T:
    """Validate `data` against `cls` (a dataclass or a type annotation) and return the typed value."""
    return _convert(cls, data, path, where)


def _fmt(path: str) -> str:
    return path or "<root>"


def _fail(path: str, where: Where, message: str, decisive: bool = False) -> typing.NoReturn:
    """Raise the one-line error. `decisive`: the value has the right type but breaks a rule (a name, a
    finite number), so a union reports this error rather than "expected A | B"."""
    err = ConfigError(f"{where(path)}: {_fmt(path)}: {message}")
    err.key_path, err.decisive = path, decisive  # type: ignore[attr-defined]
    raise err


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else str(key)


def _show(path: str, value: Any) -> str:
    """A value for an error message; a secret-looking key's value is never shown."""
    return MASK if is_secret_key(path) else repr(value)


def _type_name(tp: Any) -> str:
    if isinstance(tp, type):
        return tp.__name__
    return str(tp).replace("typing.", "")


def _convert(tp: Any, value: Any, path: str, where: Where) -> Any:
    if tp is Any:
        return value
    origin = typing.get_origin(tp)
    if origin is Annotated:  # Annotated[str, check]: the type, then each check (a ValueError is the message)
        base, *checks = typing.get_args(tp)
        out = _convert(base, value, path, where)
        for check in checks:
            try:
                check(out)
            except ValueError as e:
                _fail(path, where, str(e), decisive=True)
        return out
    if origin in (Union, types.UnionType):
        args = typing.get_args(tp)
        if value is None:
            if type(None) in args:
                return None
            _fail(path, where, f"a value is required ({_type_name(tp)})")
        for arg in (a for a in args if a is not type(None)):
            try:
                return _convert(arg, value, path, where)
            except ConfigError as e:
                if getattr(e, "decisive", False):
                    raise e from None  # `Name | None`, `list[float] | None`: the rule says more than the type
                continue
        _fail(path, where, f"expected {_type_name(tp)}, got {_show(path, value)}")
    if value is None:
        _fail(path, where, f"a value is required ({_type_name(tp)})")
    if origin is Literal:
        choices = typing.get_args(tp)
        if value not in choices:
            _fail(path, where, f"must be one of {', '.join(map(repr, choices))}, got {_show(path, value)}")
        return value
    if origin in (list, tuple) or tp in (list, tuple):
        if not isinstance(value, list | tuple):
            _fail(path, where, f"expected a list, got {type(value).__name__} {_show(path, value)}")
        args = typing.get_args(tp)
        item = args[0] if args else Any
        out = [_convert(item, v, f"{path}[{i}]", where) for i, v in enumerate(value)]
        return tuple(out) if (origin or tp) is tuple else out
    if origin is dict or tp is dict:
        if not isinstance(value, Mapping):
            _fail(path, where, f"expected a mapping, got {type(value).__name__} {_show(path, value)}")
        args = typing.get_args(tp)
        kt, vt = args if args else (Any, Any)
        return {
            _convert(kt, k, _join(path, str(k)), where): _convert(vt, v, _join(path, str(k)), where)
            for k, v in value.items()
        }
    if dataclasses.is_dataclass(tp):
        return _build_dataclass(tp, value, path, where)
    if tp is bool:
        if not isinstance(value, bool):
            _fail(path, where, f"expected true or false, got {_show(path, value)}")
        return value
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            _fail(path, where, f"expected an integer, got {_show(path, value)}")
        return value
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            _fail(path, where, f"expected a number, got {_show(path, value)}")
        if not math.isfinite(value):
            _fail(path, where, f"expected a finite number, got {_show(path, value)}", decisive=True)
        return float(value)
    if tp is str:
        if not isinstance(value, str):
            _fail(path, where, f"expected a string, got {type(value).__name__} {_show(path, value)}")
        return value
    if tp is dt.date:
        if isinstance(value, dt.date):
            return value
        try:
            return dt.date.fromisoformat(str(value))
        except ValueError:
            _fail(path, where, f"expected a date YYYY-MM-DD, got {_show(path, value)}")
    raise TypeError(f"schema: unsupported annotation {tp!r} at {_fmt(path)}")


def _build_dataclass(cls: Any, value: Any, path: str, where: Where) -> Any:
    if dataclasses.is_dataclass(value) and isinstance(value, cls):
        return value
    if not isinstance(value, Mapping):
        _fail(
            path, where, f"expected a mapping of {cls.__name__} keys, got {type(value).__name__} {_show(path, value)}"
        )
    hints = typing.get_type_hints(cls, include_extras=True)
    fields = {f.name: f for f in dataclasses.fields(cls) if f.init}
    unknown = [k for k in value if k not in fields]
    if unknown:
        key = unknown[0]
        close = difflib.get_close_matches(str(key), list(fields), n=1)
        hint = f" (did you mean '{close[0]}'?)" if close else f" (known keys: {', '.join(sorted(fields))})"
        _fail(_join(path, str(key)), where, f"unknown key{hint}")
    kwargs = {}
    for name, f in fields.items():
        sub = _join(path, name)
        if name in value:
            kwargs[name] = _convert(hints[name], value[name], sub, where)
        elif f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
            _fail(sub, where, f"missing required key ({_type_name(hints[name])})")
    try:
        obj = cls(**kwargs)
    except (ValueError, TypeError) as e:
        _fail(path, where, str(e))
    check = getattr(obj, "validate", None)
    if callable(check):
        try:
            check()
        except ValueError as e:
            _fail(path, where, str(e))
    return obj


def to_plain(obj: Any) -> Any:
    """The inverse of build: dataclasses back to plain dicts/lists (for printing, hashing, metadata)."""
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: to_plain(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, Mapping):
        return {k: to_plain(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [to_plain(v) for v in obj]
    if isinstance(obj, dt.date):
        return obj.isoformat()
    return obj
