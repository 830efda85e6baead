"""Tool arguments checked against the tool's JSON Schema, with messages a model can act on.

The checking is ``jsonschema``'s (any draft a schema names, 2020-12 by default): MCP servers send
schemas with arrays, nested objects, ``anyOf`` and ``$ref``, which only a complete validator gets
right. It costs ~0.1 s to import, so it is imported on the first tool call (``load``, run off the
event loop by the registry), never at start-up. Around it, two leniencies models need: ``null``
for an optional argument means "left out", and ``3.0`` for an integer is ``3``. A schema that is
itself invalid is not enforced (the tool, or its MCP server, still checks its input).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any, Protocol

from agentd.tools.errors import InvalidToolInput

log = logging.getLogger("agentd.tools")

#: How much of a rejected value's description a message may carry.
_MAX_MESSAGE = 300


class Checker(Protocol):
    def __call__(self, arguments: Any) -> dict[str, Any]: ...


def load() -> None:
    """Import the validator (slow: call it off the event loop once, before the first check)."""
    import jsonschema  # noqa: F401


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


def _where(path: Any) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _message(error: Any) -> str:
    """One ``jsonschema`` error in the words of the rest of agentd's tool errors."""
    if error.validator in ("anyOf", "oneOf") and error.context:
        from jsonschema.exceptions import best_match

        return _message(best_match(error.context))
    where = _where(error.absolute_path)
    prefix = f"{where}." if where else ""
    kind, expected, instance = error.validator, error.validator_value, error.instance
    if kind == "type":
        names = " or ".join(expected) if isinstance(expected, list) else expected
        text = f"{where or 'arguments'}: expected {names}, got {_type_name(instance)}"
    elif kind == "enum":
        text = f"{where or 'arguments'}: must be one of {', '.join(repr(v) for v in expected)}"
    elif kind == "required" and isinstance(instance, Mapping):
        missing = [prefix + name for name in expected if name not in instance]
        text = f"missing required argument: {', '.join(missing)}"
    elif kind == "additionalProperties" and isinstance(instance, Mapping):
        known = error.schema.get("properties", {})
        extra = [prefix + str(key) for key in instance if key not in known]
        text = f"unknown argument: {', '.join(extra)}"
    else:
        text = f"{where}: {error.message}" if where else error.message
    return text if len(text) <= _MAX_MESSAGE else text[: _MAX_MESSAGE - 1] + "…"


def _allows_null(schema: Any) -> bool:
    if not isinstance(schema, Mapping):
        return True
    kind = schema.get("type")
    if kind == "null" or (isinstance(kind, list) and "null" in kind):
        return True
    branches = [*schema.get("anyOf", ()), *schema.get("oneOf", ())]
    return any(_allows_null(branch) for branch in branches)


def _coerce(schema: Any, value: Any) -> Any:
    """Integral floats where the schema wants integers become ints (tools use them as such)."""
    if not isinstance(schema, Mapping):
        return value
    if schema.get("type") == "integer" and isinstance(value, float):
        return int(value)
    if isinstance(value, dict):
        properties = schema.get("properties", {})
        extra = schema.get("additionalProperties")
        if not isinstance(properties, Mapping):
            properties = {}
        return {key: _coerce(properties.get(key, extra), item) for key, item in value.items()}
    elif isinstance(value, list):
        items = schema.get("items")
        return [_coerce(items, item) for item in value]
    return value


def compile_checker(schema: Mapping[str, Any]) -> Checker:
    """A checker for ``schema``: arguments in, cleaned arguments out, or ``InvalidToolInput``."""
    import jsonschema
    from jsonschema.exceptions import best_match

    schema = dict(schema)
    validator: Any = None
    try:
        cls = jsonschema.validators.validator_for(schema, default=jsonschema.Draft202012Validator)
        cls.check_schema(schema)
        validator = cls(schema)
    except Exception as exc:
        log.warning("tool input schema not enforced (invalid): %s", str(exc)[:200])
    properties = schema.get("properties", {})
    properties = properties if isinstance(properties, Mapping) else {}
    required = schema.get("required", [])
    required = set(required) if isinstance(required, list) else set()

    def check(arguments: Any) -> dict[str, Any]:
        if not isinstance(arguments, Mapping):
            raise InvalidToolInput(f"arguments must be an object, got {_type_name(arguments)}")
        # Models often send null for an optional argument they mean to leave out.
        cleaned = {
            key: value
            for key, value in arguments.items()
            if not (
                value is None
                and key in properties
                and key not in required
                and not _allows_null(properties[key])
            )
        }
        if validator is None:
            return cleaned
        try:
            error = best_match(validator.iter_errors(cleaned))
        except RecursionError:
            raise InvalidToolInput("arguments are nested too deeply") from None
        except Exception as exc:  # e.g. an unresolvable $ref: the schema's fault, not the model's
            log.warning("tool input not checked: %s", str(exc)[:200])
            return cleaned
        if error is not None:
            raise InvalidToolInput(_message(error))
        result = _coerce(schema, cleaned)
        assert isinstance(result, dict)
        return result

    return check


def validate_arguments(schema: Mapping[str, Any], arguments: Any) -> dict[str, Any]:
    """Check ``arguments`` against ``schema`` once (the registry caches compiled checkers)."""
    return compile_checker(schema)(arguments)
