"""Sans-IO framing for agentd's stdio transport: bytes in, message bodies out, and back.

No asyncio here. The decoders do not parse bodies: the connection feeds whatever it reads to a
decoder, gets :class:`Message` / :class:`FramingError` events, and turns each body into a value with
:func:`loads` (bounded nesting, clean errors); it frames outgoing bodies with :func:`encode_lsp` or
:func:`encode_ndjson` after :func:`dumps`.
"""

from agentd.wire.auto import AutoDecoder, Framing, FramingMode
from agentd.wire.events import (
    DEFAULT_MAX_HEADER_SIZE,
    DEFAULT_MAX_MESSAGE_SIZE,
    Decoder,
    Event,
    FramingError,
    FramingErrorReason,
    Message,
)
from agentd.wire.jsontext import MAX_DEPTH, dumps, loads
from agentd.wire.lsp import LspDecoder, encode_lsp
from agentd.wire.ndjson import NdjsonDecoder, encode_ndjson

__all__ = [
    "DEFAULT_MAX_HEADER_SIZE",
    "DEFAULT_MAX_MESSAGE_SIZE",
    "MAX_DEPTH",
    "AutoDecoder",
    "Decoder",
    "Event",
    "Framing",
    "FramingError",
    "FramingErrorReason",
    "FramingMode",
    "LspDecoder",
    "Message",
    "NdjsonDecoder",
    "dumps",
    "encode_lsp",
    "encode_ndjson",
    "loads",
]
