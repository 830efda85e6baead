"""JSON Schema of every method's params, generated from the params types.

The schema is committed in ``schema/params.json``; a test regenerates it and fails when the wire
changes without the schema (as Codex's app-server protocol does). Regenerate with
``python -m agentd.protocol.schema > schema/params.json``.
"""

from __future__ import annotations

import json
from typing import Any, Literal, get_args, get_origin

import attrs

from agentd.protocol.methods import PARAMS
from agentd.protocol.params import is_optional, requires_object, wire_name

SCHEMA_ID = "https://agentd.invalid/schema/params.json"


def _value_schema(annotation: Any) -> dict[str, Any]:
    if annotation is Any:
        return {}
    if annotation is str:
        return {"type": "string"}
    if annotation is bool:
        return {"type": "boolean"}
    if annotation is int:
        return {"type": "integer"}
    if annotation is float:
        return {"type": "number"}
    if get_origin(annotation) is Literal:
        return {"enum": list(get_args(annotation))}
    if annotation is dict or get_origin(annotation) is dict:
        return {"type": "object"}
    raise TypeError(f"no JSON Schema for {annotation!r}")


def field_schema(field: attrs.Attribute[Any]) -> dict[str, Any]:
    optional, inner = is_optional(field.type)
    schema = _value_schema(inner)
    if inner is str and field.default is attrs.NOTHING and not optional:
        schema["pattern"] = r"\S"  # required strings must be non-empty after trimming
    if (optional or field.default is not attrs.NOTHING) and inner is not Any:
        schema = {"anyOf": [schema, {"type": "null"}]}  # null counts as absent
    if field.default not in (attrs.NOTHING, None):
        schema["default"] = field.default
    return schema


def params_schema(cls: type[Any]) -> dict[str, Any]:
    attrs.resolve_types(cls)
    fields = attrs.fields(cls)
    if not fields:
        return {"description": "takes no params; any params are ignored (as the reference)"}
    schema: dict[str, Any] = {
        "type": "object" if requires_object(cls) else ["object", "null"],
        "properties": {wire_name(f): field_schema(f) for f in fields},
    }
    required = [
        wire_name(f) for f in fields if f.default is attrs.NOTHING and not is_optional(f.type)[0]
    ]
    if required:
        schema["required"] = required
    return schema


def protocol_schema() -> dict[str, Any]:
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        "title": "agentd method params",
        "description": "Unknown keys are ignored; values are never coerced.",
        "methods": {name: params_schema(cls) for name, cls in sorted(PARAMS.items())},
    }


def render() -> str:
    return json.dumps(protocol_schema(), indent=2, sort_keys=True) + "\n"


if __name__ == "__main__":
    print(render(), end="")
