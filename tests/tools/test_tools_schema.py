"""The argument validator's subset of JSON schema."""

from __future__ import annotations

from typing import Any

import pytest

from agentd.tools.errors import InvalidToolInput
from agentd.tools.schema import validate_arguments

SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "n": {"type": "integer"},
        "x": {"type": "number"},
        "flag": {"type": "boolean"},
        "mode": {"type": "string", "enum": ["a", "b"]},
        "env": {"type": "object", "additionalProperties": {"type": "string"}},
    },
    "required": [],
}


def test_integral_float_counts_as_integer() -> None:
    assert validate_arguments(SCHEMA, {"n": 3.0}) == {"n": 3}
    assert type(validate_arguments(SCHEMA, {"n": 3.0})["n"]) is int


def test_number_accepts_int_and_float() -> None:
    assert validate_arguments(SCHEMA, {"x": 1}) == {"x": 1}
    assert validate_arguments(SCHEMA, {"x": 1.5}) == {"x": 1.5}


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"n": 2.5}, "n: expected integer, got number"),
        ({"x": True}, "x: expected number, got boolean"),
        ({"flag": "yes"}, "flag: expected boolean, got string"),
        ({"mode": "c"}, "mode: must be one of 'a', 'b'"),
        ({"env": {"A": 1}}, "env.A: expected string, got integer"),
        ({"env": "A=1"}, "env: expected object, got string"),
    ],
)
def test_rejections_name_the_argument(arguments: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidToolInput) as caught:
        validate_arguments(SCHEMA, arguments)
    assert caught.value.message == message


def test_object_values_schema() -> None:
    assert validate_arguments(SCHEMA, {"env": {"A": "1"}}) == {"env": {"A": "1"}}


NESTED: dict[str, Any] = {
    "type": "object",
    "properties": {
        "tags": {"type": "array", "items": {"type": "string"}, "maxItems": 3},
        "level": {"enum": ["low", "high"]},
        "point": {
            "type": "object",
            "properties": {"x": {"type": "integer"}, "y": {"type": "integer"}},
            "required": ["x", "y"],
            "additionalProperties": False,
        },
        "points": {"type": "array", "items": {"$ref": "#/$defs/pt"}},
        "maybe": {"type": ["string", "null"]},
    },
    "required": ["tags"],
    "additionalProperties": False,
    "$defs": {"pt": {"type": "object", "properties": {"n": {"type": "integer"}}}},
}


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"tags": "a"}, "tags: expected array, got string"),
        ({"tags": ["a", 2]}, "tags[1]: expected string, got integer"),
        ({"tags": ["a", "b", "c", "d"]}, "tags: ['a', 'b', 'c', 'd'] is too long"),
        ({"tags": [], "level": "mid"}, "level: must be one of 'low', 'high'"),
        ({"tags": [], "point": {"x": 1}}, "missing required argument: point.y"),
        ({"tags": [], "point": {"x": 1, "y": 2, "z": 3}}, "unknown argument: point.z"),
        (
            {"tags": [], "points": [{"n": 1}, {"n": "2"}]},
            "points[1].n: expected integer, got string",
        ),
        ({}, "missing required argument: tags"),
    ],
)
def test_arrays_enums_nested_objects(arguments: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidToolInput) as caught:
        validate_arguments(NESTED, arguments)
    assert caught.value.message == message


def test_nested_integral_floats_and_null_allowed_by_schema() -> None:
    checked = validate_arguments(NESTED, {"tags": [], "point": {"x": 1.0, "y": 2}, "maybe": None})
    assert checked == {"tags": [], "point": {"x": 1, "y": 2}, "maybe": None}
    assert type(checked["point"]["x"]) is int


def test_invalid_schema_is_not_enforced() -> None:
    assert validate_arguments({"type": "object", "properties": 5}, {"a": 1}) == {"a": 1}


def test_deep_arguments_are_refused_not_crashed() -> None:
    deep: Any = "x"
    for _ in range(5000):
        deep = [deep]
    schema = {
        "type": "object",
        "properties": {"a": {"$ref": "#/$defs/n"}},
        "$defs": {
            "n": {"anyOf": [{"type": "string"}, {"type": "array", "items": {"$ref": "#/$defs/n"}}]}
        },
    }
    with pytest.raises(InvalidToolInput):
        validate_arguments(schema, {"a": deep})
