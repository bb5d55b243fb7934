"""Check settings against a dataclass or a constructor before building anything from them.

Each value is validated by pydantic against the field's annotation, so a wrong type or an unknown
key gives one message naming the key, the value and what is allowed (with "did you mean" for a
near miss) instead of a Python ``TypeError`` about ``__init__``. Range checks stay with the class.
"""
from __future__ import annotations

import dataclasses
import difflib
import inspect
import types
import typing
from collections.abc import Mapping
from typing import Any

SCALARS = (bool, int, float, str)


class SettingsError(ValueError):
    """A setting with an unknown key or a value of the wrong type."""


def schema(target: type) -> dict[str, Any]:
    """name -> annotation of a dataclass's fields, or of a class constructor's keyword parameters."""
    if dataclasses.is_dataclass(target):
        hints = typing.get_type_hints(target)
        return {f.name: hints.get(f.name, Any) for f in dataclasses.fields(target) if f.init}
    init = target.__init__  # type: ignore[misc]
    hints = typing.get_type_hints(init)
    return {name: hints.get(name, Any) for name, p in inspect.signature(init).parameters.items()
            if name != "self" and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)}


def suggestion(key: str, known: typing.Iterable[str]) -> str:
    """'; did you mean X?' for a near miss, else ''."""
    close = difflib.get_close_matches(key, list(known), n=1, cutoff=0.6)
    return f"; did you mean {close[0]!r}?" if close else ""


def _members(annotation: Any) -> tuple[Any, ...]:
    """The types of a union (``int | None`` -> (int, NoneType)), or the annotation itself."""
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        return typing.get_args(annotation)
    return (annotation,)


def _describe(annotation: Any) -> str:
    names = {bool: "true or false", int: "an integer", float: "a number", str: "text", type(None): "none"}
    parts = [names.get(m) or _generic_name(m) for m in _members(annotation)]
    return " or ".join(dict.fromkeys(parts))


def _generic_name(annotation: Any) -> str:
    origin = typing.get_origin(annotation)
    if origin in (tuple, list):
        return "a list"
    if origin is dict:
        return "a table"
    return getattr(annotation, "__name__", str(annotation))


def _check_value(key: str, value: Any, annotation: Any, what: str) -> Any:
    """The value converted as pydantic would (strict booleans, no bools for numbers), or SettingsError."""
    from pydantic import Strict, TypeAdapter, ValidationError

    members = _members(annotation)
    if annotation is Any or any(m is Any for m in members):
        return value
    scalar = all(m in SCALARS or m is type(None) for m in members)
    if isinstance(value, str) and not scalar:
        return value  # the class parses its own text forms ("W,X", "128-64")
    if isinstance(value, bool) and bool not in members and any(m in (int, float) for m in members):
        raise SettingsError(f"{what} {key} = {value!r}: expected {_describe(annotation)}")
    strict = members == (bool,) or set(members) == {bool, type(None)}
    try:
        return TypeAdapter(typing.Annotated[annotation, Strict()] if strict else annotation).validate_python(value)
    except ValidationError as exc:
        detail = exc.errors()[0].get("msg", "invalid value")
        raise SettingsError(f"{what} {key} = {value!r}: expected {_describe(annotation)} ({detail})") from None
    except Exception:  # an annotation pydantic cannot build a validator for: the class checks it
        return value


def validate_settings(target: type, data: Mapping[str, Any], what: str) -> dict[str, Any]:
    """``data`` checked against ``target``'s fields: unknown keys and wrong types raise SettingsError."""
    fields = schema(target)
    out: dict[str, Any] = {}
    for key, value in data.items():
        if key not in fields:
            raise SettingsError(f"unknown {what} {key!r}{suggestion(key, fields)} "
                                f"(allowed: {', '.join(sorted(fields))})")
        out[key] = _check_value(key, value, fields[key], what)
    return out
