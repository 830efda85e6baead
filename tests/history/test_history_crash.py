"""Crash safety of the history journal: SIGKILL a busy daemon again and again on one home.

Each iteration spawns a daemon on the SAME ``AGENTD_HOME``, first proves that a record left by the
previous crash can be resumed (a new turn completes and appends to the same file, a torn tail cut
off first), then runs 1-3 sessions (some resuming earlier records) that send prompts with a mix of
scripts, and SIGKILLs the daemon after a random delay. After every kill, every record file is
checked: whole lines only (at most a torn last line), every prompt whose ``session.send`` response
arrived is on disk, no message is written twice, message indexes strictly increase.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import signal
import uuid
from pathlib import Path
from typing import Any

import attrs
import pytest

from agentd.client import AgentdClient, Event
from agentd.store import RecordView, read_record

from .conftest import (
    TERMINAL,
    assert_all_lines_json,
    close,
    crash,
    record_files,
    spawn,
)

SEED = 20261128
ITERATIONS = 12
#: Scripts the sessions pick from, with weights: streaming, tool rounds, a hanging tool, echo.
SCRIPTS = ("short_slow", "two_tools", "multi_round", "tool_hang", "echo")
WEIGHTS = (3, 2, 2, 1, 3)
TURN_TIMEOUT_S = 20.0


class Router:
    """Reads the daemon's events and resolves one future per turn at its terminal event, so
    several sessions can be driven at once over one connection."""

    def __init__(self, client: AgentdClient) -> None:
        self.client = client
        self.events: list[Event] = []
        self._ends: dict[str, asyncio.Future[Event]] = {}
        self._task = asyncio.get_running_loop().create_task(self._run())

    def _end(self, turn_id: str) -> asyncio.Future[Event]:
        if turn_id not in self._ends:
            self._ends[turn_id] = asyncio.get_running_loop().create_future()
        return self._ends[turn_id]

    async def _run(self) -> None:
        while True:
            event = await self.client.events.get()
            self.events.append(event)
            if event["type"] in TERMINAL:
                future = self._end(event["payload"]["turn_id"])
                if not future.done():
                    future.set_result(event)

    async def wait_end(self, turn_id: str, timeout: float = TURN_TIMEOUT_S) -> Event:
        return await asyncio.wait_for(asyncio.shield(self._end(turn_id)), timeout)

    def stop(self) -> None:
        self._task.cancel()


@attrs.define
class Sent:
    """A ``session.send`` written to the daemon; ``answered`` once its response arrived."""

    text: str
    session_id: str
    future: asyncio.Future[Any]

    @property
    def answered(self) -> bool:
        return (
            self.future.done()
            and not self.future.cancelled()
            and self.future.exception() is None
            and "result" in self.future.result()
        )


class Trigger:
    """When armed, stops the daemon (SIGSTOP, then ``crash`` kills it) the moment the next
    ``session.send`` response arrives: the instant a prompt must already be on disk."""

    def __init__(self, client: AgentdClient) -> None:
        self.pid = client.process.pid
        self.armed = False
        self.fired = asyncio.Event()

    def on_response(self, future: asyncio.Future[Any]) -> None:
        if not self.armed or self.fired.is_set() or future.cancelled():
            return
        if future.exception() is None and "result" in future.result():
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, signal.SIGSTOP)
            self.fired.set()


def send(
    client: AgentdClient,
    sent: list[Sent],
    session_id: str,
    text: str,
    trigger: Trigger | None = None,
) -> Sent:
    params = {"session_id": session_id, "text": text, "enqueue": True}
    _, future = client.start_request("session.send", params)
    if trigger is not None:
        future.add_done_callback(trigger.on_response)
    item = Sent(text, session_id, future)
    sent.append(item)
    return item


async def drive(
    client: AgentdClient,
    router: Router,
    trigger: Trigger,
    rng: random.Random,
    session_id: str,
    sent: list[Sent],
) -> None:
    """Send prompts until killed: one at a time, or sometimes a second one queued behind it."""
    while True:
        last = None
        for _ in range(2 if rng.random() < 0.4 else 1):
            script = rng.choices(SCRIPTS, WEIGHTS)[0]
            text = f"crash-{uuid.uuid4()} script:{script}"
            item = send(client, sent, session_id, text, trigger)
            response = await item.future
            if "error" in response:
                raise AssertionError(f"session.send failed: {response['error']}")
            last = response["result"]["turn_id"]
        assert last is not None
        await router.wait_end(last, timeout=60)


def clean_size(data: bytes) -> int:
    """Where the last whole line ends (what survives the cut of a torn tail)."""
    return data.rfind(b"\n") + 1


def check_files(home: Path, sent: list[Sent]) -> dict[Path, RecordView]:
    """The invariants that must hold after any crash; returns the readable records."""
    views: dict[Path, RecordView] = {}
    for path in record_files(home):
        tail = assert_all_lines_json(path)
        data = path.read_bytes()
        if b"\n" not in data:
            # killed between creating the file and its first line: nothing else can be in it
            assert len(data) < 4096, path
            continue
        view = read_record(path)
        allowed = {"torn_tail"} if tail.strip() else set()
        assert {p.kind for p in view.problems} <= allowed, (path, view.problems)
        assert all(p.line == data.count(b"\n") + 1 for p in view.problems), view.problems
        indexes = [m.index for m in view.messages]
        assert indexes == sorted(set(indexes)), (path, indexes)
        prompts = [(m.turn_id, m.text) for m in view.messages if m.role == "user"]
        assert len(prompts) == len(set(prompts)), (path, prompts)
        views[path] = view
    on_disk = {m.text for v in views.values() for m in v.messages if m.role == "user"}
    on_disk |= {p.text for v in views.values() for p in v.unstarted_prompts}  # still queued
    missing = [s.text for s in sent if s.answered and s.text not in on_disk]
    assert not missing, f"answered prompts lost in the crash: {missing}"
    return views


async def check_resume(
    client: AgentdClient, router: Router, sent: list[Sent], home: Path, view: RecordView
) -> str:
    """Resume a record left by a crash: a new turn completes and appends to the same file."""
    path = view.path
    before = path.read_bytes()
    result = await client.call("session.create", {"resume_id": view.meta.id}, timeout=20)
    session_id = str(result["session_id"])
    assert result["state"]["activeSessionId"] == view.meta.id
    text = f"resume-{uuid.uuid4()} script:echo"
    item = send(client, sent, session_id, text)
    response = await asyncio.wait_for(item.future, 20)
    end = await router.wait_end(response["result"]["turn_id"])
    assert end["type"] == "session.completed", end
    after = path.read_bytes()
    assert after.startswith(before[: clean_size(before)])  # appended; only a torn tail was cut
    resumed = read_record(path)
    assert resumed.problems == ()
    assert resumed.meta.id == view.meta.id
    # prompts queued before the crash were offered back in the queue and may run after it
    texts = [m.text for m in resumed.messages]
    assert texts[texts.index(text) + 1] == f"You said: {text}"
    assert resumed.messages[: len(view.messages)] == view.messages
    assert {p for p in record_files(home) if text in p.read_text()} == {path}
    return session_id


def tear(path: Path, rng: random.Random) -> None:
    """Simulate a crash in the middle of a write: part of a line, no newline at its end."""
    line = f'{{"type":"message","index":999,"role":"user","text":"torn {uuid.uuid4()}"}}'
    with path.open("ab") as handle:
        handle.write(line.encode()[: rng.randint(1, len(line) - 1)])


async def crash_iteration(
    client: AgentdClient,
    router: Router,
    plan: random.Random,
    views: dict[Path, RecordView],
    used: set[str],
    session_ids: list[str],
    sent: list[Sent],
) -> None:
    """Run 1-3 busy sessions (some resuming earlier records), then SIGKILL the daemon."""
    for _ in range(max(0, plan.randint(1, 3) - len(session_ids))):
        resumable = sorted({v.meta.id for v in views.values()} - used)
        params: dict[str, Any] = {}
        if resumable and plan.random() < 0.5:
            params["resume_id"] = plan.choice(resumable)
            used.add(params["resume_id"])
        result = await client.call("session.create", params, timeout=20)
        session_ids.append(result["session_id"])
    trigger = Trigger(client)
    loop = asyncio.get_running_loop()
    drivers = [
        loop.create_task(drive(client, router, trigger, random.Random(plan.random()), sid, sent))
        for sid in session_ids
    ]
    try:
        await asyncio.sleep(plan.uniform(0, 0.4))
        if plan.random() < 0.5:  # or kill right as a prompt is answered
            trigger.armed = True
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(trigger.fired.wait(), 1.0)
        for task in drivers:
            if task.done():
                task.result()  # a driver that failed before the kill is a test failure
        await crash(client)
    finally:
        for task in drivers:
            task.cancel()
        await asyncio.gather(*drivers, return_exceptions=True)


@pytest.mark.timeout(120)
async def test_sigkill_loop_keeps_every_answered_prompt(home: Path, workspace: Path) -> None:
    plan = random.Random(SEED)
    sent: list[Sent] = []
    torn: set[Path] = set()
    torn_resumed = 0
    for iteration in range(ITERATIONS + 1):
        client = await spawn(home, workspace)
        router = Router(client)
        try:
            views = check_files(home, sent)
            # the index was reconciled with what the crash left
            listing = await client.call("history.list", {"limit": 1000})
            assert {s["id"] for s in listing["sessions"]} == {v.meta.id for v in views.values()}
            assert listing["total"] == len(views)
            used: set[str] = set()
            session_ids: list[str] = []
            if views:
                # resuming works after the crash; a record with a torn tail goes first
                first = sorted(views, key=lambda p: (p not in torn, str(p)))
                target = views[first[0] if torn & set(views) else plan.choice(first)]
                session_ids.append(await check_resume(client, router, sent, home, target))
                used.add(target.meta.id)
                torn_resumed += target.path in torn
                torn.discard(target.path)
            if iteration == ITERATIONS:
                assert await close(client) == 0
                break
            await crash_iteration(client, router, plan, views, used, session_ids, sent)
        finally:
            router.stop()
            if client.process.returncode is None:
                await close(client)
        views = check_files(home, sent)
        whole = [p for p in sorted(views) if p.read_bytes().endswith(b"\n")]
        if iteration % 3 == 1 and whole:
            path = plan.choice(whole)
            tear(path, plan)
            torn.add(path)
    assert torn_resumed >= 1
    assert sum(s.answered for s in sent) >= ITERATIONS // 2, "too few prompts were answered"
