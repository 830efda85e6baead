"""Sans-IO framing for agentd's stdio transport: bytes in, message bodies out, and back.

No asyncio and no JSON parsing of incoming bodies here; the connection feeds whatever it reads to a
decoder and gets :class:`Message` / :class:`FramingError` events, and frames outgoing bodies with
:func:`encode_lsp` or :func:`encode_ndjson` after :func:`dumps`.
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
from agentd.wire.jsontext import dumps
from agentd.wire.lsp import LspDecoder, encode_lsp
from agentd.wire.ndjson import NdjsonDecoder, encode_ndjson

__all__ = [
    "DEFAULT_MAX_HEADER_SIZE",
    "DEFAULT_MAX_MESSAGE_SIZE",
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
]
