"""Domain errors the core raises; a front door maps them to its own error codes.

Each carries a machine-readable ``reason`` and a message written for people (the reference's
exact strings where it has one). The core never builds JSON-RPC errors itself: the same refusal
becomes ``-32002`` on the session API and something else on another protocol.
"""

from __future__ import annotations

from typing import ClassVar


class CoreError(Exception):
    """A request the core refuses; ``reason`` says why in one word."""

    reason: ClassVar[str] = "invalid_state"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class SessionNotFound(CoreError):
    reason = "session_not_found"

    def __init__(self, session_id: str) -> None:
        super().__init__(f"unknown session: {session_id}")
        self.session_id = session_id


class SessionBusy(CoreError):
    reason = "session_busy"

    def __init__(self) -> None:
        super().__init__("session is busy; use enqueue=true to queue the prompt")


class InvalidState(CoreError):
    """The request is well formed but cannot run now (empty prompt, shutting down, …)."""

    reason = "invalid_state"


class Overloaded(CoreError):
    """A bound was reached; the caller may try again after ``retry_after_ms``."""

    reason = "overloaded"

    def __init__(self, message: str, retry_after_ms: int) -> None:
        super().__init__(message)
        self.retry_after_ms = retry_after_ms


class ProviderUnavailable(CoreError):
    """The chosen provider has no key, token or endpoint configured."""

    reason = "provider_unavailable"


class InvalidOption(CoreError):
    """An option's value is unusable (an unknown provider, a missing directory); ``field`` names
    the option."""

    reason = "invalid_params"

    def __init__(self, problem: str, field: str) -> None:
        super().__init__(problem)
        self.problem = problem
        self.field = field
