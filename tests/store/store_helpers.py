"""Helpers shared by the store tests: write small records, run a child Python process."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from agentd.store import HistoryStore, Journal, Message, TurnEnd, TurnStart

ROOT = Path(__file__).resolve().parents[2]


def write_turn(journal: Journal, turn_id: str, prompt: str, answer: str, at: str) -> None:
    """One completed turn: start, user prompt, assistant answer, end."""
    journal.append(TurnStart(turn_id, at))
    journal.append(Message("user", prompt, turn_id=turn_id))
    journal.append(Message("assistant", answer, turn_id=turn_id))
    journal.append(TurnEnd(turn_id, at, "completed"))


def make_record(
    store: HistoryStore,
    *,
    record_id: str | None = None,
    created_at: str = "2026-01-02T03:04:05.678Z",
    updated_at: str | None = None,
    turns: int = 1,
    title: str = "a chat",
) -> Path:
    """A closed record with ``turns`` completed turns; returns its path."""
    with store.create_record(
        provider="openai",
        model="gpt-test",
        thinking_level="MEDIUM",
        title=title,
        record_id=record_id,
        created_at=created_at,
    ) as journal:
        for n in range(turns):
            write_turn(journal, f"t{n}", f"question {n}", f"answer {n}", updated_at or created_at)
        return journal.path


def run_python(code: str, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    """Run ``code`` in a fresh interpreter that can import ``agentd``."""
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.run(
        [sys.executable, "-c", code, *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=env,
        timeout=30,
        check=False,
    )
