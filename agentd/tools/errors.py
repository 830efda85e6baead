"""Expected tool failures.

A tool raises these instead of building failure results by hand, so every tool reports the same
shapes; ``ToolRegistry.run`` turns them into ``ToolResult(ok=False, ...)`` without logging a
traceback (they are the model's mistakes or the world's state, not bugs).
"""

from __future__ import annotations


class ToolError(Exception):
    """A tool call failed in an expected way; the message is shown to the model as is."""

    @property
    def message(self) -> str:
        return str(self.args[0]) if self.args else type(self).__name__


class InvalidToolInput(ToolError):
    """The arguments are malformed or out of range (reported as ``status: "invalid_input"``)."""
