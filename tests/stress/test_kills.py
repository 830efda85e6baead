"""SIGKILL across many turns with queued prompts: every prompt whose ``session.send`` was
answered (started or queued) is found afterwards, as a message or as an unstarted queued prompt,
and a resumed session offers the queued ones back."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

from agentd.store import read_record
from tests.history.conftest import close, crash, record_files, spawn

from .conftest import SCRIPTS, report, rng, scale


async def test_sigkill_with_queued_prompts(tmp_path: Path) -> None:
    r = rng("kills")
    kills = scale(4, 40)  # about five turns each: 200 in a full run
    home, workspace = tmp_path / "home", tmp_path / "ws"
    workspace.mkdir()
    answered: list[str] = []
    queued_answered = 0
    turns = 0
    started = time.perf_counter()
    for round_ in range(kills):
        client = await spawn(home, workspace, scripts_dirs=[SCRIPTS])
        session_id = await client.create_session(model=r.choice(["stress_stream", "echo"]))
        futures: list[tuple[str, asyncio.Future[Any]]] = []
        for n in range(5):
            text = f"kill{round_}-{n}"
            futures.append(
                (text, client.start_request(
                    "session.send", {"session_id": session_id, "text": text, "enqueue": True}
                )[1])
            )  # fmt: skip
            turns += 1
        await asyncio.sleep(r.uniform(0.0, 0.3))
        await crash(client)
        for text, future in futures:
            # unanswered ones failed with the connection: they were never promised
            if future.done() and future.exception() is None and "result" in future.result():
                answered.append(text)
                queued_answered += bool(future.result()["result"]["queued"])
    on_disk: set[str] = set()
    offered = 0
    for path in record_files(home):
        data = path.read_bytes()
        if b"\n" not in data:
            continue  # killed before the first line
        view = read_record(path)
        on_disk |= {m.text for m in view.messages if m.role == "user"}
        on_disk |= {p.text for p in view.unstarted_prompts}
        offered += len(view.unstarted_prompts)
    lost = [text for text in answered if text not in on_disk]
    assert lost == []
    report(
        "sigkill",
        kills=kills,
        prompts_sent=turns,
        answered=len(answered),
        answered_queued=queued_answered,
        unstarted_queued_found=offered,
        lost=len(lost),
        seconds=round(time.perf_counter() - started, 1),
    )
    client = await spawn(home, workspace, scripts_dirs=[SCRIPTS])
    assert await close(client) == 0  # the home still opens after every kill
