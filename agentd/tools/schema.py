"""A tiny validator for the JSON-schema subset the built-in tools declare.

Models send arguments as JSON that may not match the declared schema; checking them in one place
gives the model a precise message it can act on, without a JSON-schema dependency. Supported:
``type`` (``string``, ``integer``, ``number``, ``boolean``, ``object``), ``properties``,
``required``, ``additionalProperties`` (``false`` by default: unknown keys are rejected; ``true``;
or a schema for the values) and ``enum``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from agentd.tools.errors import InvalidToolInput


def _type_name(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, Mapping):
        return "object"
    if isinstance(value, list | tuple):
        return "array"
    return type(value).__name__


def _matches(expected: str, value: Any) -> bool:
    if expected == "string":
        return isinstance(value, str)
    if expected == "boolean":
        return isinstance(value, bool)
    if expected == "integer":
        # JSON does not distinguish 3 from 3.0; accept integral floats.
        if isinstance(value, bool):
            return False
        return isinstance(value, int) or (isinstance(value, float) and value.is_integer())
    if expected == "number":
        return isinstance(value, int | float) and not isinstance(value, bool)
    if expected == "object":
        return isinstance(value, Mapping)
    raise ValueError(f"unsupported schema type: {expected}")


def _check(schema: Mapping[str, Any], value: Any, where: str) -> Any:
    expected = schema.get("type")
    if expected is not None and not _matches(expected, value):
        raise InvalidToolInput(f"{where}: expected {expected}, got {_type_name(value)}")
    if expected == "integer" and isinstance(value, float):
        value = int(value)
    if "enum" in schema and value not in schema["enum"]:
        allowed = ", ".join(repr(v) for v in schema["enum"])
        raise InvalidToolInput(f"{where}: must be one of {allowed}")
    if expected == "object":
        return _check_object(schema, value, where)
    return value


def _check_object(
    schema: Mapping[str, Any], value: Mapping[str, Any], where: str
) -> dict[str, Any]:
    properties: Mapping[str, Any] = schema.get("properties", {})
    required: list[str] = list(schema.get("required", []))
    extra: bool | Mapping[str, Any] = schema.get("additionalProperties", False)
    prefix = f"{where}." if where else ""
    out: dict[str, Any] = {}
    for key, item in value.items():
        if not isinstance(key, str):
            raise InvalidToolInput(f"{where or 'arguments'}: keys must be strings")
        name = prefix + key
        if key in properties:
            if item is None and key not in required:
                # Models often send null for an optional argument they mean to leave out.
                continue
            out[key] = _check(properties[key], item, name)
        elif extra is True:
            out[key] = item
        elif isinstance(extra, Mapping):
            out[key] = _check(extra, item, name)
        else:
            raise InvalidToolInput(f"unknown argument: {name}")
    missing = [prefix + key for key in required if key not in out]
    if missing:
        raise InvalidToolInput(f"missing required argument: {', '.join(missing)}")
    return out


def validate_arguments(schema: Mapping[str, Any], arguments: Any) -> dict[str, Any]:
    """Check ``arguments`` against an object ``schema``; return them with null optionals dropped.

    Raises ``InvalidToolInput`` with a message naming the offending argument.
    """
    if not isinstance(arguments, Mapping):
        raise InvalidToolInput(f"arguments must be an object, got {_type_name(arguments)}")
    return _check_object(schema, arguments, "")
