"""Compact JSON text for the wire, safe for NDJSON line splitting by JavaScript readers.

``ensure_ascii=False`` keeps payloads small and readable, but then U+2028 and U+2029 appear raw,
and Node's ``readline`` (used by the reference client) splits lines on them, which would cut an
NDJSON message in two. They are escaped after encoding, only when present, so the common case
costs two substring scans. NaN and infinities are refused: they are not JSON.
"""

from __future__ import annotations

import json
from typing import Final

__all__ = ["dumps"]

_ENCODER: Final = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False)
_ASCII_ENCODER: Final = json.JSONEncoder(ensure_ascii=True, separators=(",", ":"), allow_nan=False)


def dumps(obj: object) -> bytes:
    """Serialize ``obj`` to compact UTF-8 JSON with U+2028/U+2029 escaped.

    Raises ``TypeError`` for unserializable objects and ``ValueError`` for NaN/infinity or
    circular references, like :func:`json.dumps`.
    """
    text = _ENCODER.encode(obj)
    if "\u2028" in text or "\u2029" in text:
        text = text.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:
        # A lone surrogate (e.g. from a surrogateescape'd file name) has no UTF-8 form; the
        # all-ASCII encoding writes it as a \\udcXX escape, which is still valid JSON.
        return _ASCII_ENCODER.encode(obj).encode("ascii")
