"""``json.loads`` for streamed event payloads, through ``orjson`` when it gives the same answer.

A streamed answer is one small JSON object per delta, and decoding it with the stdlib costs
~2.7 µs against ~0.75 µs with orjson. The answers must stay exactly the stdlib's, so orjson is
used only where the two agree:

* orjson reads an integer beyond 64 bits as a ``float``; the stdlib keeps an ``int``. Such an
  integer (and any float mantissa long enough for rounding to be in question) has a run of 19 or
  more ASCII digits, and JSON numbers are written with literal digits: text without such a run is
  safe. :func:`long_digit_run` finds one with two bytes operations (``translate`` and ``in``),
  cheap enough to run once per network read instead of once per event.
* orjson refuses some text the stdlib accepts (``NaN``, ``Infinity``, ``1e400``, lone surrogate
  escapes): any orjson error falls back to the stdlib, which then accepts or raises as it would.

Without orjson installed everything goes to the stdlib. orjson's import (~20 ms) happens when this
module is first imported, which the daemon does in a worker thread after its first answer.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, Final

__all__ = ["FAST", "fast_loads", "loads", "long_digit_run"]

_orjson_loads: Callable[[str], Any] | None
_orjson_error: type[Exception]
try:
    import orjson
except ImportError:  # pragma: no cover - orjson is a dependency; this is the safety net
    _orjson_loads, _orjson_error = None, ValueError
else:
    _orjson_loads, _orjson_error = orjson.loads, orjson.JSONDecodeError

#: Whether orjson is there to use.
FAST: Final = _orjson_loads is not None
_RUN: Final = 19
_DIGIT_TABLE: Final = bytes(0 if 0x30 <= byte <= 0x39 else 1 for byte in range(256))
_ZEROS: Final = bytes(_RUN)


def long_digit_run(data: bytes) -> bool:
    """Whether ``data`` holds 19 or more ASCII digits in a row (where orjson may differ)."""
    return _ZEROS in data.translate(_DIGIT_TABLE)


def fast_loads(text: str) -> Any:
    """``json.loads(text)`` for text known to hold no long digit run (see the module doc)."""
    if _orjson_loads is not None:
        try:
            return _orjson_loads(text)
        except _orjson_error:
            pass
    return json.loads(text)


def loads(text: str) -> Any:
    """``json.loads(text)``, through orjson when that gives the same answer."""
    if _orjson_loads is None or long_digit_run(text.encode("utf-8", "surrogatepass")):
        return json.loads(text)
    return fast_loads(text)
