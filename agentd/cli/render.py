"""How ``agentd chat`` shows a turn: the answer on stdout, everything else on stderr.

Each model round is its own assistant message, so rounds are separated by a blank line instead of
being glued together. On a terminal a transient status line (from ``session.status``) shows what
the daemon is doing until the answer streams; on a pipe nothing but the answer is written.
"""

from __future__ import annotations

import json
import sys
from typing import Any, TextIO

DIM, RESET, CLEAR_LINE = "\033[2m", "\033[0m", "\r\033[2K"


class Renderer:
    """Writes one session's events. ``status`` enables the status line (a terminal on stderr)."""

    def __init__(
        self, out: TextIO | None = None, err: TextIO | None = None, *, status: bool = False
    ) -> None:
        self.out = out or sys.stdout
        self.err = err or sys.stderr
        self.status_enabled = status
        self.out_is_tty = self.out.isatty()
        #: stdout's cursor is at the start of a line (nothing written, or a newline last).
        self.at_line_start = True
        self.wrote_text = False
        #: A round ended: the next text starts after a blank line.
        self.round_ended = False
        self.status_shown = False

    # -- events ---------------------------------------------------------------------------

    def event(self, type_: str, payload: dict[str, Any]) -> None:
        if type_ == "session.stream.chunk":
            self.text(payload["chunk"]["answerText"])
        elif type_ == "session.message.appended":
            if payload["message"]["kind"] == "assistant" and self.wrote_text:
                self.end_line()
                self.round_ended = True
        elif type_ == "session.status":
            self.status(payload["status_label"], busy=payload["pending"])
        elif type_ == "session.tool.call.started":
            call = payload["data"]["call"]
            self.note(f"[tool] {call['name']} {json.dumps(call['input'], ensure_ascii=False)}")
        elif type_ == "session.tool.call.completed":
            executed = payload["data"]["executed"]
            if not executed["ok"]:
                self.note(f"[tool failed] {executed['name']}: {executed.get('error', '')}")
        elif type_ == "session.error":
            self.note(f"[error:{payload.get('kind')}] {payload['message']}")
        elif type_ == "session.interrupted":
            self.note("[interrupted]")
        elif type_ == "session.retry":
            self.note(f"[retry {payload['attempt']}/{payload['max_attempts']}] {payload['reason']}")

    # -- output ---------------------------------------------------------------------------

    def text(self, text: str) -> None:
        if not text:
            return
        self.clear_status()
        if self.round_ended:
            self.out.write("\n")
            self.round_ended = False
        self.out.write(text)
        self.out.flush()
        self.wrote_text = True
        self.at_line_start = text.endswith("\n")

    def end_line(self) -> None:
        """Finish the answer's current line (before a note, at the end of the turn)."""
        if not self.at_line_start:
            self.out.write("\n")
            self.out.flush()
            self.at_line_start = True

    def note(self, text: str) -> None:
        """A line on stderr; on a shared terminal, after the answer's current line."""
        self.clear_status()
        if self.out_is_tty:
            self.end_line()
        self.err.write(text + "\n")
        self.err.flush()

    def status(self, label: str, *, busy: bool) -> None:
        if not self.status_enabled:
            return
        if not busy or label == "ready":
            self.clear_status()
            return
        if self.out_is_tty and not self.at_line_start:
            return  # the answer is mid-line on the same terminal: do not draw over it
        self.err.write(f"{CLEAR_LINE}{DIM}{label}{RESET}")
        self.err.flush()
        self.status_shown = True

    def clear_status(self) -> None:
        if self.status_shown:
            self.err.write(CLEAR_LINE)
            self.err.flush()
            self.status_shown = False

    def turn_done(self) -> None:
        self.clear_status()
        self.end_line()
        self.wrote_text = False
        self.round_ended = False
