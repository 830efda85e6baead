"""Strict, typed method params with the reference's validation rules (loaf-behaviour §1.4).

Params classes are plain attrs classes; the field's annotation and default pick the rule:

* ``str`` without default: required, must be a string non-empty after trimming; trimmed.
* ``str | None``: optional; non-string is an error; whitespace-only counts as absent; trimmed.
* ``bool`` / ``bool | None``: optional; anything but a JSON boolean is an error.
* ``float | None``: optional finite JSON number (never a string, never a boolean).
* ``int | None``: optional integral JSON number.
* ``Literal[...] | None``: optional string, one of the listed values.
* ``dict[str, Any] | None``: optional JSON object.
* ``Any``: passed through untouched (the method validates it itself).

Unknown keys are ignored, as the reference does, so clients written for it keep working. Nothing is
coerced: ``"5"`` is not a number and ``"true"`` is not a boolean. A class with at least one required
field rejects omitted or ``null`` params with "expected object"; others treat them as ``{}``. The
cattrs converter caches one structuring function per class, so validation costs a dict walk.
"""

from __future__ import annotations

import math
import types
from collections.abc import Callable
from typing import Any, Literal, TypeVar, Union, get_args, get_origin

import attrs

from agentd.protocol.errors import RpcError, invalid_params

T = TypeVar("T")

_MISSING = object()


class _FieldProblem(Exception):
    """Raised inside a structuring hook; turned into an ``RpcError`` naming the method."""

    def __init__(self, problem: str, field: str | None) -> None:
        super().__init__(problem)
        self.problem = problem
        self.field = field


def wire_name(field: attrs.Attribute[Any]) -> str:
    """The JSON key of a field: its ``wire`` metadata, else its Python name."""
    return str(field.metadata.get("wire", field.name))


def is_optional(annotation: Any) -> tuple[bool, Any]:
    origin = get_origin(annotation)
    if origin in (Union, types.UnionType):
        args = [a for a in get_args(annotation) if a is not type(None)]
        if len(args) == 1 and len(get_args(annotation)) == 2:
            return True, args[0]
    return False, annotation


Rule = Callable[[Any], Any]


def _rule_for(field: attrs.Attribute[Any]) -> Rule:
    name = wire_name(field)
    optional, inner = is_optional(field.type)
    has_default = field.default is not attrs.NOTHING

    if inner is Any:
        return lambda value: value
    if inner is str and not optional and not has_default:

        def required_str(value: Any) -> Any:
            if not isinstance(value, str) or not value.strip():
                raise _FieldProblem(f"`{name}` must be a non-empty string", name)
            return value.strip()

        return required_str
    if inner is str:

        def optional_str(value: Any) -> Any:
            if value is None:
                return _MISSING
            if not isinstance(value, str):
                raise _FieldProblem(f"`{name}` must be a string", name)
            stripped = value.strip()
            return stripped if stripped else _MISSING

        return optional_str
    if inner is bool:

        def optional_bool(value: Any) -> Any:
            if value is None:
                return _MISSING
            if not isinstance(value, bool):
                raise _FieldProblem(f"`{name}` must be a boolean", name)
            return value

        return optional_bool
    if inner is float or inner is int:
        integral = inner is int

        def optional_number(value: Any) -> Any:
            if value is None:
                return _MISSING
            if (
                isinstance(value, bool)
                or not isinstance(value, int | float)
                or not math.isfinite(value)
            ):
                raise _FieldProblem(f"`{name}` must be a finite number", name)
            if integral:
                if value != int(value):
                    raise _FieldProblem(f"`{name}` must be an integer", name)
                return int(value)
            return value

        return optional_number
    if get_origin(inner) is Literal:
        allowed = tuple(str(a) for a in get_args(inner))

        def one_of(value: Any) -> Any:
            if value is None:
                return _MISSING
            if not isinstance(value, str) or value.strip() not in allowed:
                raise _FieldProblem(f"`{name}` must be one of: {', '.join(allowed)}", name)
            return value.strip()

        return one_of
    if get_origin(inner) is dict or inner is dict:

        def optional_object(value: Any) -> Any:
            if value is None:
                return _MISSING
            if not isinstance(value, dict):
                raise _FieldProblem(f"`{name}` must be an object", name)
            return value

        return optional_object
    raise TypeError(f"no params rule for {field.name}: {field.type!r}")


def requires_object(cls: type[Any]) -> bool:
    return any(f.default is attrs.NOTHING and not is_optional(f.type)[0] for f in attrs.fields(cls))


def _make_hook(cls: type[Any]) -> Callable[[Any, type[Any]], Any]:
    attrs.resolve_types(cls)
    plan = [(wire_name(f), f.name, _rule_for(f)) for f in attrs.fields(cls)]
    needs_object = requires_object(cls)

    def structure(raw: Any, _: type[Any]) -> Any:
        if raw is None and not needs_object:
            raw = {}
        if not isinstance(raw, dict):
            raise _FieldProblem("expected object", None)
        kwargs: dict[str, Any] = {}
        for key, py_name, rule in plan:
            value = rule(raw.get(key))
            if value is not _MISSING:
                kwargs[py_name] = value
        return cls(**kwargs)

    return structure


_converter: Any = None


def converter() -> Any:
    """The cattrs converter for params (created on first use: cattrs is off the start-up path)."""
    global _converter
    if _converter is None:
        import cattrs

        made = cattrs.Converter()
        made.register_structure_hook_factory(attrs.has, _make_hook)
        _converter = made
    return _converter


def parse_params(method: str, cls: type[T], raw: Any) -> T:
    """Validate ``raw`` params for ``method`` into ``cls`` or raise the reference's -32602."""
    try:
        result: T = converter().structure(raw, cls)
    except _FieldProblem as problem:
        raise invalid_params(method, problem.problem, problem.field) from None
    return result


__all__ = ["RpcError", "converter", "parse_params", "wire_name"]
