"""JSON Schema of the wire, generated from the protocol types.

Params come from the attrs params classes, results and event payloads from their ``TypedDict``s.
The schema is committed in ``schema/protocol.json``; a test regenerates it and fails when the
wire changes without the schema (as Codex's app-server protocol does). Regenerate with
``python -m agentd.api.schema > schema/protocol.json`` (the method table lives in the API).
"""

from __future__ import annotations

import json
import types
from collections.abc import Iterable, Mapping
from typing import (
    Any,
    Literal,
    NotRequired,
    Required,
    Union,
    get_args,
    get_origin,
    get_type_hints,
    is_typeddict,
)

import attrs

from agentd.protocol.params import is_optional, requires_object, wire_name

SCHEMA_ID = "https://agentd.invalid/schema/protocol.json"


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


def typed_dict_schema(td: type[Any], defs: dict[str, Any]) -> dict[str, Any]:
    """A reference to ``td``'s schema, defining it (and the types it uses) in ``defs``."""
    name = td.__name__
    if name not in defs:
        defs[name] = {}  # placeholder: recursion ends here
        hints = get_type_hints(td, include_extras=True)
        required = sorted(td.__required_keys__)
        schema: dict[str, Any] = {
            "type": "object",
            "properties": {key: _type_schema(hint, defs) for key, hint in hints.items()},
        }
        if required:
            schema["required"] = required
        if td.__doc__:
            schema["description"] = " ".join(td.__doc__.split())
        defs[name] = schema
    return {"$ref": f"#/$defs/{name}"}


def _type_schema(annotation: Any, defs: dict[str, Any]) -> dict[str, Any]:
    """JSON Schema of a result or event annotation (TypedDicts, lists, dicts, unions)."""
    origin = get_origin(annotation)
    if origin in (NotRequired, Required):
        return _type_schema(get_args(annotation)[0], defs)
    if annotation is None or annotation is type(None):
        return {"type": "null"}
    if is_typeddict(annotation):
        return typed_dict_schema(annotation, defs)
    if origin in (Union, types.UnionType):
        return {"anyOf": [_type_schema(arg, defs) for arg in get_args(annotation)]}
    if origin is list:
        (item,) = get_args(annotation)
        return {"type": "array", "items": _type_schema(item, defs)}
    if annotation is dict or origin is dict:
        args = get_args(annotation)
        value = _type_schema(args[1], defs) if args else {}
        return {"type": "object", "additionalProperties": value} if value else {"type": "object"}
    return _value_schema(annotation)


def protocol_schema(
    methods: Iterable[tuple[str, type[Any], Any]], events: Mapping[str, type[Any]]
) -> dict[str, Any]:
    """The whole wire: each method's params and result, each event's payload.

    ``methods`` rows are (name, params class, result annotation; ``None`` for a null result).
    """
    rows = sorted(methods, key=lambda row: row[0])
    defs: dict[str, Any] = {}
    results = {name: _type_schema(result, defs) for name, _, result in rows}
    payloads = {name: _type_schema(payload, defs) for name, payload in sorted(events.items())}
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        "title": "agentd protocol",
        "description": (
            "Params (unknown keys are ignored; values are never coerced), results and event "
            "payloads of the session API."
        ),
        "methods": {name: params_schema(cls) for name, cls, _ in rows},
        "results": results,
        "events": payloads,
        "$defs": dict(sorted(defs.items())),
    }


def render(methods: Iterable[tuple[str, type[Any], Any]], events: Mapping[str, type[Any]]) -> str:
    return json.dumps(protocol_schema(methods, events), indent=2, sort_keys=True) + "\n"
