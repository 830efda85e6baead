"""``dumps``: compact UTF-8 JSON that survives line-splitting by JavaScript readers."""

from __future__ import annotations

import json
import math
import re

import pytest

from agentd.wire import dumps, encode_ndjson


def test_compact_and_utf8() -> None:
    assert dumps({"a": [1, 2], "b": "é中😀"}) == '{"a":[1,2],"b":"é中😀"}'.encode()


@pytest.mark.parametrize("char", ["\u2028", "\u2029"])
def test_line_and_paragraph_separators_are_escaped(char: str) -> None:
    obj = {"text" + char: "a" + char + "b" + char * 2}
    data = dumps(obj)
    assert char.encode() not in data
    assert b"\\u%04x" % ord(char) in data
    assert json.loads(data) == obj


def test_escaped_output_has_no_raw_line_terminators() -> None:
    """Node's readline splits on CR, LF, CRLF, U+2028 and U+2029: none may appear raw."""
    obj = {"text": "l1\nl2\r\u2028\u2029\r\n"}
    framed = encode_ndjson(dumps(obj))
    lines = re.split("\r\n|\n|\r|\u2028|\u2029", framed.decode())
    assert lines[1:] == [""]
    assert json.loads(lines[0]) == obj


def test_nan_and_infinity_are_refused() -> None:
    for value in (math.nan, math.inf, -math.inf):
        with pytest.raises(ValueError):
            dumps({"x": value})


def test_unserializable_raises_type_error() -> None:
    with pytest.raises(TypeError):
        dumps({"x": object()})


def test_lone_surrogate_falls_back_to_ascii_escapes() -> None:
    data = dumps({"path": "bad\udcffname é"})
    assert data == b'{"path":"bad\\udcffname \\u00e9"}'
    assert json.loads(data) == {"path": "bad\udcffname é"}
