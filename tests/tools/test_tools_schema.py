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
