"""JSON text for the wire: compact, NDJSON-safe output, and bounded, total input decoding.

``ensure_ascii=False`` keeps payloads small and readable, but then U+2028 and U+2029 appear raw,
and Node's ``readline`` (used by the reference client) splits lines on them, which would cut an
NDJSON message in two. They are escaped after encoding, only when present, so the common case
costs two substring scans. NaN and infinities are refused: they are not JSON.

:func:`loads` is the one way incoming bodies become values. Every way a body can fail raises
``ValueError`` with a short detail that never quotes the input, so the connection can answer a
parse error and serve on. Nesting is bounded by :data:`MAX_DEPTH` *before* decoding: the C
decoder recurses once per level and raises ``RecursionError`` near Python's recursion limit (about
1,000 levels minus the caller's stack, so ~984 in the daemon), and catching that is fragile: the
exception can surface anywhere deep in the stack, and later layers that walk the value (params
conversion, the encoder, the store, ``copy.deepcopy`` at ~3 Python frames per level) would hit
the same wall with less stack left. 256 levels is far beyond any real message and leaves those
walkers over half of the recursion limit.
"""

from __future__ import annotations

import json
import re
from itertools import accumulate
from typing import Any, Final

__all__ = ["MAX_DEPTH", "dumps", "loads"]

#: Deepest nesting of arrays and objects accepted in an incoming message (see the docstring).
MAX_DEPTH: Final = 256
_BOM: Final = b"\xef\xbb\xbf"
# A JSON string, or an unterminated one running to the end: every attempt from a quote matches,
# so the scan stays linear even on ``"\"\"\"...`` without a closing quote.
_STRING: Final = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*\\?(?:"|\Z)', re.DOTALL)
_NOT_BRACKET: Final = bytes(b for b in range(256) if b not in b"[]{}")
_TO_SQUARE: Final = bytes.maketrans(b"{}", b"[]")
_STEP: Final = tuple(1 if b == ord("[") else -1 if b == ord("]") else 0 for b in range(256))
#: Rounds of removing innermost ``[]`` pairs before summing bracket by bracket.
_PAIR_ROUNDS: Final = 16

_ENCODER: Final = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False)
_ASCII_ENCODER: Final = json.JSONEncoder(ensure_ascii=True, separators=(",", ":"), allow_nan=False)
#: The C encoder behind ``_ENCODER``, built once: ``JSONEncoder.encode`` builds one per call,
#: which is half the cost of encoding a small message. No circular-reference markers (they
#: would be shared state); a cycle ends in ``RecursionError``, reported as ``ValueError``.
_C_ENCODE: Final = (
    json.encoder.c_make_encoder(  # type: ignore[attr-defined]
        None, _ENCODER.default, json.encoder.encode_basestring, None, ":", ",", False, False, False
    )
    if json.encoder.c_make_encoder is not None  # type: ignore[attr-defined]
    else None
)


def _reject_constant(name: str) -> Any:
    raise ValueError(f"invalid JSON constant {name}")


#: One decoder for every message (``json.loads`` with options builds a new one per call).
_DECODER: Final = json.JSONDecoder(parse_constant=_reject_constant)


def too_deep(body: bytes, limit: int = MAX_DEPTH) -> bool:
    """Whether ``body`` nests arrays/objects deeper than ``limit``, brackets in strings aside.

    Two ``count`` calls (~0.1 µs on a small message) settle nearly every message: a body with at
    most ``limit`` opening brackets cannot be deeper. Otherwise strings are cut out and only the
    brackets kept. Wide, shallow JSON is settled by a few rounds of deleting innermost ``[]``
    pairs (each round lowers the depth by at most one, so ``rounds + brackets left`` bounds it);
    deep JSON is summed bracket by bracket. Every step is a C loop; the whole is O(n).
    """
    if body.count(b"[") + body.count(b"{") <= limit:
        return False
    brackets = _STRING.sub(b"", body).translate(_TO_SQUARE, _NOT_BRACKET)
    rest = brackets
    for rounds in range(1, _PAIR_ROUNDS + 1):
        rest = rest.replace(b"[]", b"")
        if rest.count(b"[") + rounds <= limit:
            return False
    return max(accumulate(map(_STEP.__getitem__, brackets)), default=0) > limit


def loads(body: bytes) -> Any:
    """Decode one message body; raise ``ValueError`` with a short, input-free detail on failure.

    Rejects invalid UTF-8, NaN/Infinity, nesting over :data:`MAX_DEPTH` and integers over
    Python's 4,300-digit conversion limit. A UTF-8 BOM before the value is skipped (some
    editors' clients write one); that costs nothing unless decoding failed first.
    """
    if body.count(b"[") + body.count(b"{") > MAX_DEPTH and too_deep(body):
        raise ValueError(f"JSON too deeply nested (more than {MAX_DEPTH} levels)")
    try:
        return _DECODER.decode(body.decode("utf-8"))
    except (ValueError, RecursionError) as exc:
        if not body.startswith(_BOM):
            raise _clean(exc) from None
    try:
        return _DECODER.decode(body[len(_BOM) :].decode("utf-8"))
    except (ValueError, RecursionError) as exc:
        raise _clean(exc) from None


def _clean(exc: Exception) -> ValueError:
    """The decoder's exception as a short ``ValueError`` that names no Python internals."""
    if isinstance(exc, RecursionError):  # unreachable after the depth check; a miss is an error
        return ValueError("JSON too deeply nested")
    if isinstance(exc, UnicodeDecodeError):
        return ValueError("message is not valid UTF-8")
    if "integer string conversion" in str(exc):
        return ValueError("integer too large (over 4300 digits)")
    return exc if isinstance(exc, ValueError) else ValueError(str(exc))


def dumps(obj: object) -> bytes:
    """Serialize ``obj`` to compact UTF-8 JSON with U+2028/U+2029 escaped.

    Raises ``TypeError`` for unserializable objects and ``ValueError`` for NaN/infinity or
    circular references, like :func:`json.dumps`.
    """
    if _C_ENCODE is not None and type(obj) is dict:
        try:
            text = "".join(_C_ENCODE(obj, 0))
        except RecursionError:
            raise ValueError("Circular reference detected (or nesting too deep)") from None
    else:
        text = _ENCODER.encode(obj)
    if "\u2028" in text or "\u2029" in text:
        text = text.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:
        # A lone surrogate (e.g. from a surrogateescape'd file name) has no UTF-8 form; the
        # all-ASCII encoding writes it as a \\udcXX escape, which is still valid JSON.
        return _ASCII_ENCODER.encode(obj).encode("ascii")
