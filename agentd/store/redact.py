"""Scrub secret-shaped strings from text before it reaches disk (rules in ``agentd.text``)."""

from __future__ import annotations

from agentd.text import REDACTED, redact

__all__ = ["REDACTED", "redact"]
