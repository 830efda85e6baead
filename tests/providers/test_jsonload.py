"""``jsonload.loads`` answers exactly as ``json.loads``: same values, same types, same errors."""

from __future__ import annotations

import json
import math
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from agentd.providers import jsonload


def same(a: Any, b: Any) -> bool:
    """Equal and of the same types all the way down (``1 == 1.0``, but not here)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return list(a) == list(b) and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, float) and math.isnan(a):
        return math.isnan(b)
    if isinstance(a, float):
        return a == b and math.copysign(1, a) == math.copysign(1, b)
    return bool(a == b)


def outcome(text: str, loads: Any) -> tuple[str, Any]:
    try:
        return "ok", loads(text)
    except ValueError:
        return "error", None


def check(text: str) -> None:
    expected = outcome(text, json.loads)
    got = outcome(text, jsonload.loads)
    assert got[0] == expected[0], text
    assert same(got[1], expected[1]), text


_number = (
    st.integers(min_value=-(2**70), max_value=2**70)
    | st.integers(min_value=-(2**64) - 2, max_value=2**64 + 2)
    | st.floats(allow_nan=True, allow_infinity=True)
)
_scalar = st.none() | st.booleans() | _number | st.text(max_size=12)
_values = st.recursive(
    _scalar,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner),
    max_leaves=12,
)


@given(_values, st.booleans())
@settings(max_examples=400)
def test_encoded_values_decode_as_the_stdlib_decodes_them(value: Any, ascii_only: bool) -> None:
    check(json.dumps(value, ensure_ascii=ascii_only))


_fragments = st.sampled_from(
    ['{"a":', "[", "]", "}", ",", '"s"', "1", "-0", "0.1", "1e400", "-1e-400", "NaN",
     "Infinity", "-Infinity", "123456789012345678901", "18446744073709551616",
     "9223372036854775808", "-9223372036854775809", "1.00000000000000000001", '"\\ud800"',
     '"\\udc00\\ud800"', '"\\u0000"', "\x00", "\ufeff", " ", "\n", "true", "nul", '"\x01"',
     "01", "1.", ".5", "+1", "1E2", '"\\x"', "\ud800"]
)  # fmt: skip


@given(st.lists(_fragments, max_size=10).map("".join))
@settings(max_examples=600)
def test_near_json_decodes_or_fails_as_the_stdlib_does(text: str) -> None:
    check(text)


@given(st.text(max_size=40))
def test_any_text_decodes_or_fails_as_the_stdlib_does(text: str) -> None:
    check(text)


def test_integers_beyond_64_bits_stay_integers() -> None:
    """orjson alone would read these as floats; the digit-run check sends them to the stdlib."""
    for text in ('{"n":123456789012345678901234567890}', "[-9223372036854775809]"):
        check(text)
        assert isinstance(jsonload.loads(text)[0 if text[0] == "[" else "n"], int)


def test_long_digit_run() -> None:
    assert jsonload.long_digit_run(b"x" + b"1" * 19)
    assert not jsonload.long_digit_run(b"1" * 18 + b"." + b"1" * 18)
    assert not jsonload.long_digit_run(b"")
