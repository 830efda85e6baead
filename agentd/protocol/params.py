"""Strict, typed method params with the reference's validation rules (loaf-behaviour §1.4).

Params classes are plain attrs classes; the field's annotation and default pick the rule:

* ``str`` without default: required, must be a string non-empty after trimming; trimmed.
* ``str | None``: optional; non-string is an error; whitespace-only counts as absent; trimmed.
* ``bool`` / ``bool | None``: optional; anything but a JSON boolean is an error.
* ``float | None``: optional finite JSON number (never a string, never a boolean); an integer
  beyond the double range (over ~308 digits) is out of range, as it is for every JSON reader
  that maps numbers to doubles.
* ``int | None``: optional integral JSON number within the field's ``range`` metadata, by default
  LSP's ``integer`` (-2**31 .. 2**31-1); ``processId`` must be a real process id (1 .. 2**31-1).
* ``Literal[...] | None``: optional string, one of the listed values.
* ``dict[str, Any] | None``: optional JSON object.
* ``Any``: passed through untouched (the method validates it itself).

String fields that name a file or a record (``cwd``, ``rollout_path``, ``resume_id``, ``id``, or
any field with ``name`` metadata) refuse NUL and unpaired surrogates: neither can be part of a path
or be stored as UTF-8, so they are bad params here rather than an internal error later. Other
(free-text) strings are made safe here, the one edge: an unpaired surrogate becomes U+FFFD (it
has no UTF-8 form, so no file, index or socket could take it); NUL is kept (it is valid text).

Unknown keys are ignored, as the reference does, so clients written for it keep working. Nothing is
coerced: ``"5"`` is not a number and ``"true"`` is not a boolean. A class with at least one required
field rejects omitted or ``null`` params with "expected object"; others treat them as ``{}``. The
cattrs converter caches one structuring function per class, so validation costs a dict walk.
"""

from __future__ import annotations

import math
import sys
import types
from collections.abc import Callable
from typing import Any, Literal, TypeVar, Union, get_args, get_origin

import attrs

from agentd.protocol.errors import RpcError, invalid_params
from agentd.text import safe_text

T = TypeVar("T")

_MISSING = object()

#: Range of ``int`` fields without ``range`` metadata: LSP's ``integer``.
_INT_RANGE = (-(2**31), 2**31 - 1)
#: Fields whose rules are fixed by a protocol, for types that carry no metadata of their own.
_DEFAULT_RANGES: dict[str, tuple[int, int]] = {"processId": (1, 2**31 - 1)}
_NAME_FIELDS = frozenset({"cwd", "rollout_path", "resume_id", "id"})


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


def _is_name(field: attrs.Attribute[Any]) -> bool:
    return bool(field.metadata.get("name", wire_name(field) in _NAME_FIELDS))


def _int_range(field: attrs.Attribute[Any]) -> tuple[int, int]:
    found = field.metadata.get("range", _DEFAULT_RANGES.get(wire_name(field), _INT_RANGE))
    return (int(found[0]), int(found[1]))


def _check_name(value: str, name: str) -> None:
    """Refuse NUL and unpaired surrogates (callers skip ASCII text without NUL: one scan)."""
    bad = "\x00" in value
    if not bad and not value.isascii():
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            bad = True
    if bad:
        raise _FieldProblem(f"`{name}` must not contain NUL or unpaired surrogate characters", name)


def _number_rule(name: str, integral: bool, bounds: tuple[int, int]) -> Rule:
    """Finite JSON numbers; integers are compared exactly, never converted to float first."""
    low, high = bounds

    def optional_number(value: Any) -> Any:
        if value is None:
            return _MISSING
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise _FieldProblem(f"`{name}` must be a finite number", name)
        if isinstance(value, float):
            if not math.isfinite(value):
                raise _FieldProblem(f"`{name}` must be a finite number", name)
            if not integral:
                return value
            if not value.is_integer():
                raise _FieldProblem(f"`{name}` must be an integer", name)
            value = int(value)
        elif not integral:
            if abs(value) > sys.float_info.max:  # exact int/float comparison: no overflow
                raise _FieldProblem(f"`{name}` is out of range", name)
            return value
        if not low <= value <= high:
            raise _FieldProblem(f"`{name}` must be an integer from {low} to {high}", name)
        return value

    return optional_number


def _rule_for(field: attrs.Attribute[Any]) -> Rule:
    name = wire_name(field)
    optional, inner = is_optional(field.type)
    has_default = field.default is not attrs.NOTHING

    if inner is Any:
        return lambda value: value
    is_name = _is_name(field)
    if inner is str and not optional and not has_default:

        def required_str(value: Any) -> Any:
            if not isinstance(value, str) or not value.strip():
                raise _FieldProblem(f"`{name}` must be a non-empty string", name)
            if is_name and ("\x00" in value or not value.isascii()):
                _check_name(value, name)
            return safe_text(value.strip())

        return required_str
    if inner is str:

        def optional_str(value: Any) -> Any:
            if value is None:
                return _MISSING
            if not isinstance(value, str):
                raise _FieldProblem(f"`{name}` must be a string", name)
            stripped = value.strip()
            if is_name and ("\x00" in stripped or not stripped.isascii()):
                _check_name(stripped, name)
            return safe_text(stripped) if stripped else _MISSING

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
        return _number_rule(name, inner is int, _int_range(field))
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
