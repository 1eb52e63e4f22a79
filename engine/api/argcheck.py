"""Check a request's arguments against the verb's annotations before calling it.

The services are typed for Python callers; over the API a client can send any JSON value
(a `null` where a count belongs, a list for a name). A value that does not fit the verb's
annotation is refused as a ValidationError naming the parameter (HTTP 400, one line)
instead of failing deep inside the service as an internal error (500). Annotations this
does not know are not checked: the service's own checks still apply."""

from __future__ import annotations

import collections.abc
import functools
import inspect
import types
import typing
from typing import Any

from engine.errors import ValidationError

# What SQLite and PostgreSQL integers hold: a larger number is refused, not overflowed.
INT_LIMIT = 2**63


def check(fn: Any, bound: inspect.BoundArguments) -> None:
    hints = _hints(getattr(fn, "__func__", fn))
    for name, value in bound.arguments.items():
        hint = hints.get(name, Any)
        kind = bound.signature.parameters[name].kind
        if kind is inspect.Parameter.VAR_POSITIONAL:
            ok = all(_fits(v, hint) for v in value)
        elif kind is inspect.Parameter.VAR_KEYWORD:
            ok = all(_fits(v, hint) for v in value.values())
        else:
            ok = _fits(value, hint)
        if not ok:
            raise ValidationError(f"expected {_describe(hint)}, got {_describe_value(value)}", name)


@functools.lru_cache(maxsize=512)
def _hints(fn: Any) -> dict[str, Any]:
    """The function's resolved annotations (our own code's, evaluated as get_type_hints
    does); one that cannot be resolved is not checked."""
    out: dict[str, Any] = {}
    space = dict(getattr(fn, "__globals__", {}))
    for name, raw in getattr(fn, "__annotations__", {}).items():
        if name == "return":
            continue
        try:
            out[name] = eval(raw, space) if isinstance(raw, str) else raw
        except Exception:  # a TYPE_CHECKING-only name: leave it to the service
            out[name] = Any
    return out


def _fits(value: Any, hint: Any) -> bool:
    if hint is Any or hint is inspect.Parameter.empty or isinstance(hint, typing.TypeVar):
        return True
    if hint is None or hint is type(None):
        return value is None
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if origin is typing.Union or origin is types.UnionType:
        return any(_fits(value, a) for a in args)
    if origin is typing.Literal:
        return value in args
    if origin is typing.Annotated:
        return _fits(value, args[0])
    if hint is bool:
        return isinstance(value, bool)
    if hint is int:
        return isinstance(value, int) and not isinstance(value, bool) and abs(value) < INT_LIMIT
    if hint is float:
        return isinstance(value, int | float) and not isinstance(value, bool)
    if hint is str:
        return isinstance(value, str)
    if origin in (list, collections.abc.Sequence, collections.abc.Iterable, set, frozenset):
        if isinstance(value, str | bytes | dict) or not isinstance(value, list | tuple | set):
            return False
        return not args or all(_fits(v, args[0]) for v in value)
    if origin is tuple:
        if not isinstance(value, list | tuple):
            return False
        if len(args) == 2 and args[1] is Ellipsis:
            return all(_fits(v, args[0]) for v in value)
        return not args or (len(args) == len(value) and all(map(_fits, value, args)))
    if origin in (dict, collections.abc.Mapping):
        if not isinstance(value, dict):
            return False
        if len(args) == 2:
            return all(_fits(k, args[0]) and _fits(v, args[1]) for k, v in value.items())
        return True
    if hint in (list, tuple):
        return isinstance(value, list | tuple)
    if hint is dict:
        return isinstance(value, dict)
    if isinstance(hint, type):
        return isinstance(value, hint)
    return True  # a form this does not know: the service decides


def _describe(hint: Any) -> str:
    if hint is type(None) or hint is None:
        return "null"
    origin = typing.get_origin(hint)
    if origin is typing.Union or origin is types.UnionType:
        return " or ".join(_describe(a) for a in typing.get_args(hint))
    if origin is typing.Literal:
        return "one of " + ", ".join(repr(a) for a in typing.get_args(hint))
    if origin is not None:
        return {list: "a list", tuple: "a list", dict: "an object"}.get(origin, str(origin))
    names = {bool: "true or false", int: "an integer", float: "a number", str: "a string"}
    return names.get(hint, getattr(hint, "__name__", str(hint)))


def _describe_value(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) >= INT_LIMIT:
        return "an integer out of range"
    return type(value).__name__
