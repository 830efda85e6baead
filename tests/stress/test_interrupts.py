"""Interrupts at random points in every phase (preparing, streaming, tool, retry back-off,
approval, turn-end write): each turn gets exactly one terminal event on the wire and one
``turn_end`` on disk."""

from __future__ import annotations

import asyncio
import json
import time
from collections import Counter
from pathlib import Path
from typing import Any

from tests.history.conftest import TERMINAL, close, record_files, spawn

from .conftest import SCRIPTS, report, rng, scale

#: phase → (model, approval policy)
PHASES: dict[str, tuple[str, str]] = {
    "preparing": ("stress_stream", "auto"),
    "streaming": ("stress_stream", "auto"),
    "tool": ("tool_hang", "auto"),
    "retry": ("backoff_long", "auto"),
    "approval": ("bash", "ask"),
    "turn_end": ("echo", "auto"),
}


async def test_interrupts_in_every_phase(tmp_path: Path) -> None:
    r = rng("interrupts")
    turns = scale(30, 300)
    home, workspace = tmp_path / "home", tmp_path / "ws"
    workspace.mkdir()
    client = await spawn(home, workspace, scripts_dirs=[SCRIPTS])

    async def never_answer(method: str, params: Any) -> Any:
        await asyncio.sleep(3600)  # the approval stays pending until the interrupt

    client.request_handler = never_answer
    sessions = {
        phase: await client.create_session(model=model, approval_policy=policy)
        for phase, (model, policy) in PHASES.items()
    }
    ends: Counter[str] = Counter()
    started = time.perf_counter()
    by_phase: Counter[str] = Counter()
    try:
        for _ in range(turns):
            phase = r.choice(list(PHASES))
            by_phase[phase] += 1
            session_id = sessions[phase]
            if phase == "preparing":  # the interrupt lands in the same read as the send
                send, _ = client.pipeline(
                    ("session.send", {"session_id": session_id, "text": "go"}),
                    ("session.interrupt", {"session_id": session_id}),
                )
                turn_id = (await asyncio.wait_for(send, 20))["result"]["turn_id"]
            else:
                turn_id = (await client.send(session_id, "go"))["turn_id"]
                await asyncio.sleep(r.uniform(0, 0.05))
                await client.call("session.interrupt", {"session_id": session_id}, timeout=20)
            events = await client.turn_events(turn_id, timeout=30)
            terminal = [e["type"] for e in events if e["type"] in TERMINAL]
            assert len(terminal) == 1, (phase, terminal)
            ends[terminal[0]] += 1
    finally:
        assert await close(client) == 0
    turn_ends: Counter[str] = Counter()
    for path in record_files(home):
        for line in path.read_text().splitlines():
            record = json.loads(line)
            if record["type"] == "turn_end":
                turn_ends[record["turn_id"]] += 1
    assert len(turn_ends) == turns and set(turn_ends.values()) == {1}
    report(
        "interrupts",
        turns=turns,
        phases=dict(by_phase),
        terminal_events=dict(ends),
        turn_end_lines_per_turn=1,
        seconds=round(time.perf_counter() - started, 1),
    )
