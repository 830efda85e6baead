"""Text made safe once, at the edges: lone surrogates out, secret-shaped strings redacted.

Why a leaf module: the protocol (params), the store (journal, index), the core (tool-output
events) and logging all need the same two rules, and none of them may import the others.

* ``safe_text``: a lone surrogate (``"\\ud800"`` is valid JSON) has no UTF-8 form, so SQLite,
  files and sockets refuse it. It becomes U+FFFD. NUL is valid text and is kept.
* ``redact``: defence in depth. Keys should never get into history at all, but a user may
  paste one into a prompt or a tool may print one. Patterns need a non-token character (or
  the start) before them, so a key-like run inside base64 or a longer identifier is left alone.
"""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Mapping
from typing import Any, Final

REPLACEMENT: Final = "\ufffd"
REDACTED: Final = "[REDACTED]"

_SURROGATE: Final = re.compile("[\ud800-\udfff]")


def safe_text(text: str) -> str:
    """``text`` with every unpaired surrogate replaced by U+FFFD (one C scan when ASCII)."""
    if text.isascii():
        return text
    return _SURROGATE.sub(REPLACEMENT, text)


def is_safe(text: str) -> bool:
    return text.isascii() or _SURROGATE.search(text) is None


_BEFORE = r"(?<![A-Za-z0-9_\-+/])"
_PATTERN: Final = re.compile(
    "|".join(
        (
            _BEFORE + r"(?P<or>sk-or-)[A-Za-z0-9_\-]{16,}",
            _BEFORE + r"(?P<ant>sk-ant-)[A-Za-z0-9_\-]{16,}",
            _BEFORE + r"(?P<sk>sk-)[A-Za-z0-9_\-]{20,}",
            _BEFORE + r"(?P<aiza>AIza)[0-9A-Za-z_\-]{35}(?![0-9A-Za-z_\-])",
            _BEFORE + r"(?P<gh>gh[pousr]_)[A-Za-z0-9]{30,}",
            _BEFORE + r"(?P<ghpat>github_pat_)[A-Za-z0-9_]{30,}",
            _BEFORE + r"(?P<aws>(?:AKIA|ASIA))[0-9A-Z]{16}(?![0-9A-Za-z])",
            _BEFORE + r"(?P<ya29>ya29\.)[0-9A-Za-z_\-.]{20,}",
            _BEFORE + r"(?P<jwt>eyJ)[A-Za-z0-9_\-]{8,}\.eyJ[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{8,}",
            r"\b(?P<bearer>Bearer\s+)[A-Za-z0-9_\-.~+/]{8,}=*",
            r"(?P<pem>-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----)[\s\S]*?"
            r"(?:-----END [A-Z0-9 ]*PRIVATE KEY-----|\Z)",
        )
    )
)
_MARKERS: Final = (
    "sk-",
    "AIza",
    "Bearer",
    "ghp_",
    "gho_",
    "ghu_",
    "ghs_",
    "ghr_",
    "github_pat_",
    "AKIA",
    "ASIA",
    "ya29.",
    "eyJ",
    "PRIVATE KEY",
)


def _replace(match: re.Match[str]) -> str:
    if match.group("pem"):
        return f"-----BEGIN PRIVATE KEY----- {REDACTED}"
    prefix = next(p for p in match.groups() if p is not None)
    return f"{prefix}{REDACTED}"


def redact(text: str) -> str:
    """Return ``text`` with anything shaped like an API key, token or private key replaced."""
    if not any(marker in text for marker in _MARKERS):
        return text  # the common case, without running the regex
    return _PATTERN.sub(_replace, text)


def all_finite(value: object) -> bool:
    """Whether a decoded JSON value holds no NaN or infinity (nesting is bounded upstream)."""
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, dict | Mapping):
        return all(all_finite(v) for v in value.values())
    if isinstance(value, list | tuple):
        return all(all_finite(v) for v in value)
    return True


def finite_copy(value: Any) -> Any:
    """``value`` with every NaN or infinity replaced by ``None``."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict | Mapping):
        return {k: finite_copy(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [finite_copy(v) for v in value]
    return value


def redact_value(value: Any) -> Any:
    """``redact`` applied to every string inside a decoded JSON value (tool outputs)."""
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict | Mapping):
        return {k: redact_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [redact_value(v) for v in value]
    return value


class RedactingFilter(logging.Filter):
    """Scrubs secrets from log records (installed on the daemon's stderr handler)."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a bad format string: let logging report it as usual
            return True
        cleaned = redact(message)
        if cleaned is not message:
            record.msg, record.args = cleaned, None
        return True
