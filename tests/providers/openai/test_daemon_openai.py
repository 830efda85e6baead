"""The OpenAI provider inside the real daemon, against a local server speaking both wires:
configuration from the environment and config.toml, the session's events, the request bodies,
retries announced and budgeted, typed errors with their HTTP status, interrupts that hang up."""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from agentd.client import AgentdClient, Event
from tests.providers.openai.conftest import API_KEY
from tests.providers.openai.fake_server import FakeServer, Reply, fixture
from tests.sessions.conftest import FIXTURE_SCRIPTS, answer_text, kinds, terminal_events

WIRES = ["chat", "responses"]
Spawn = Callable[..., Awaitable[AgentdClient]]


def _env(tmp_path: Path, server: FakeServer, wire: str, **extra: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.lower().endswith("_proxy") and not k.startswith(("OPENAI_", "AGENTD_"))
    }
    env.update(
        AGENTD_HOME=str(tmp_path / "home"),
        OPENAI_API_KEY=API_KEY,
        OPENAI_BASE_URL=server.base_url,
        AGENTD_OPENAI_API=wire,
        AGENTD_OPENAI_MODEL="gpt-4.1-mini",
        # exact event sequences: one chunk per delta, whatever the reads (coalescing is tested
        # on its own)
        AGENTD_OPENAI_COALESCE="0",
    )
    env.update(extra)
    return env


@pytest.fixture
async def spawn(tmp_path: Path) -> AsyncIterator[Spawn]:
    clients: list[AgentdClient] = []

    async def start(env: dict[str, str]) -> AgentdClient:
        (tmp_path / "work").mkdir(exist_ok=True)
        (tmp_path / "work" / "README.md").write_text("alpha\n")
        client = await AgentdClient.spawn(
            ["--scripts-dir", str(FIXTURE_SCRIPTS)], env=env, cwd=str(tmp_path / "work")
        )
        clients.append(client)
        return client

    yield start
    for client in clients:
        await client.close()


async def turn(client: AgentdClient, text: str, **create: Any) -> tuple[str, list[Event]]:
    sid = await client.create_session(**create)
    sent = await client.send(sid, text)
    return sid, await client.turn_events(sent["turn_id"], timeout=20)


@pytest.mark.parametrize("wire", WIRES)
async def test_a_plain_answer_streams_with_usage(
    wire: str, server: FakeServer, spawn: Spawn, tmp_path: Path
) -> None:
    server.queue(Reply(body=fixture(f"{wire}_plain.sse")))
    client = await spawn(_env(tmp_path, server, wire))
    _, events = await turn(client, "say hello")
    assert answer_text(events) == "Hello, world!"
    usage = next(e["payload"] for e in events if e["type"] == "session.usage")
    assert (usage["input_tokens"], usage["cached_input_tokens"], usage["output_tokens"]) == (
        21,
        16,
        4,
    )
    assert [e["type"] for e in terminal_events(events)] == ["session.completed"]
    (seen,) = server.requests
    assert seen.path == ("/v1/chat/completions" if wire == "chat" else "/v1/responses")
    assert seen.headers["authorization"] == f"Bearer {API_KEY}"
    body = seen.json
    assert body["model"] == "gpt-4.1-mini" and body["stream"] is True
    assert "say hello" in json.dumps(body)


async def test_the_same_conversation_gives_the_same_events_on_every_provider(
    server: FakeServer, spawn: Spawn, tmp_path: Path
) -> None:
    sequences = {}
    for wire in WIRES:
        server.queue(Reply(body=fixture(f"{wire}_plain.sse")))
        client = await spawn(_env(tmp_path, server, wire))
        _, events = await turn(client, "say hello")
        sequences[wire] = (kinds(events), answer_text(events))
    scripted = await spawn(_env(tmp_path, server, "chat"))
    _, events = await turn(scripted, "say hello", provider="scripted", model="hello_world")
    sequences["scripted"] = (kinds(events), answer_text(events))
    assert sequences["chat"] == sequences["responses"] == sequences["scripted"]


@pytest.mark.parametrize("wire", WIRES)
async def test_tool_calls_run_and_their_results_go_back_by_call_id(
    wire: str, server: FakeServer, spawn: Spawn, tmp_path: Path
) -> None:
    server.queue(
        Reply(body=fixture(f"{wire}_tools.sse")),
        Reply(body=fixture(f"{wire}_after_tools.sse")),
    )
    client = await spawn(_env(tmp_path, server, wire))
    _, events = await turn(client, "look around")
    started = [
        e["payload"]["data"]["call"] for e in events if e["type"] == "session.tool.call.started"
    ]
    assert [(c["name"], c["callId"]) for c in started] == [
        ("read_file", "call_Wx1"),
        ("list_dir", "call_Wx2"),
    ]
    assert [e["type"] for e in terminal_events(events)] == ["session.completed"]
    second = json.dumps(server.requests[1].json)
    # each id twice: the assistant's call and the tool's result
    assert second.count('"call_Wx1"') == 2 and second.count('"call_Wx2"') == 2


@pytest.mark.parametrize("wire", WIRES)
async def test_a_429_with_retry_after_is_retried_and_announced(
    wire: str, server: FakeServer, spawn: Spawn, tmp_path: Path
) -> None:
    limited = Reply(
        429, fixture("error_429.json"), {"retry-after-ms": "20"}, content_type="application/json"
    )
    server.queue(limited, Reply(body=fixture(f"{wire}_plain.sse")))
    client = await spawn(_env(tmp_path, server, wire))
    _, events = await turn(client, "hello")
    retries = [e["payload"] for e in events if e["type"] == "session.retry"]
    assert [(r["attempt"], r["delay_ms"], r["kind"]) for r in retries] == [(2, 20, "rate_limited")]
    assert answer_text(events) == "Hello, world!"
    assert len(server.requests) == len(retries) + 1


async def test_the_retry_budget_comes_from_config_toml(
    server: FakeServer, spawn: Spawn, tmp_path: Path
) -> None:
    home = tmp_path / "home"
    home.mkdir()
    (home / "config.toml").write_text("[providers.openai]\nmax_attempts = 2\n")
    failing = Reply(
        500, fixture("error_500.json"), {"retry-after": "0"}, content_type="application/json"
    )
    server.queue(failing, failing, failing)
    client = await spawn(_env(tmp_path, server, "chat"))
    _, events = await turn(client, "hello")
    retries = [e for e in events if e["type"] == "session.retry"]
    (error,) = [e["payload"] for e in terminal_events(events)]
    assert error["kind"] == "upstream" and error["status"] == 500
    assert len(server.requests) == len(retries) + 1 == 2


@pytest.mark.parametrize("wire", WIRES)
async def test_a_401_is_an_auth_error_that_never_shows_the_key(
    wire: str, server: FakeServer, spawn: Spawn, tmp_path: Path
) -> None:
    server.queue(Reply(401, fixture("error_401.json"), content_type="application/json"))
    client = await spawn(_env(tmp_path, server, wire))
    _, events = await turn(client, "hello")
    (error,) = [e for e in terminal_events(events)]
    assert error["type"] == "session.error"
    assert (error["payload"]["kind"], error["payload"]["status"]) == ("auth", 401)
    assert len(server.requests) == 1  # never retried
    assert API_KEY not in json.dumps(client.transcript)


@pytest.mark.parametrize("wire", WIRES)
async def test_an_interrupt_mid_stream_hangs_up_and_keeps_the_partial_answer(
    wire: str, server: FakeServer, spawn: Spawn, tmp_path: Path
) -> None:
    server.queue(Reply(body=fixture(f"{wire}_partial.sse"), after="stall"))
    client = await spawn(_env(tmp_path, server, wire))
    sid = await client.create_session()
    sent = await client.send(sid, "go")
    await client.events_until(lambda e: e["type"] == "session.stream.chunk")
    await client.call("session.interrupt", {"session_id": sid})
    events = await client.turn_events(sent["turn_id"], timeout=10)
    assert [e["type"] for e in terminal_events(events)] == ["session.interrupted"]
    assert terminal_events(events)[0]["payload"]["partial_output"] is True
    await server.wait_closed(server.requests[0], timeout=5)  # the daemon hung up


async def test_model_list_asks_the_server_and_state_reports_openai(
    server: FakeServer, spawn: Spawn, tmp_path: Path
) -> None:
    models = {"object": "list", "data": [{"id": "gpt-5"}, {"id": "llama3.1:8b"}]}
    server.queue(Reply(body=json.dumps(models).encode(), content_type="application/json"))
    client = await spawn(_env(tmp_path, server, "chat"))
    listed = await client.call("model.list", {"provider": "openai"})
    assert [(m["id"], m.get("contextWindowTokens")) for m in listed["models"]] == [
        ("gpt-5", 400_000),
        ("llama3.1:8b", None),
    ]
    assert listed["selected_provider"] == "openai"
    assert listed["selected_model"] == "gpt-4.1-mini"
    assert server.requests[0].path == "/v1/models"
    again = await client.call("model.list", {"provider": "openai"})  # from the cache
    assert again["models"] == listed["models"] and len(server.requests) == 1
    state = await client.call("state.get")
    assert state["auth"]["enabledProviders"] == ["scripted", "openai"]
    assert state["model"]["selectedProvider"] == "openai"
    status = await client.call("auth.status")
    assert status["has_openai_token"] is True and "openai" in status["enabled_providers"]
    selected = await client.call(
        "model.select", {"provider": "openai", "model_id": "gpt-5", "thinking_level": "bogus"}
    )
    assert selected["selected_model"] == "gpt-5" and selected["selected_thinking"] == "MEDIUM"
    _, pending = client.start_request("model.select", {"provider": "openai", "model_id": "nope"})
    unknown = await asyncio.wait_for(pending, 30)
    assert unknown["error"]["message"] == "unknown model for provider openai: nope"


async def test_an_unconfigured_provider_names_what_is_missing(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "AGENTD_"))}
    env["AGENTD_HOME"] = str(tmp_path)
    client = await AgentdClient.spawn(env=env)
    try:
        _, pending = client.start_request("session.create", {"provider": "openai"})
        answer = await asyncio.wait_for(pending, 30)
    finally:
        await client.close()
    error = answer["error"]
    assert (error["code"], error["data"]["reason"]) == (-32004, "provider_unavailable")
    assert "OPENAI_API_KEY" in error["message"] and "OPENAI_BASE_URL" in error["message"]


FAILURES = [
    # (transcript or error body, reply options, kind, partial text kept)
    ("error_midstream", {}, "upstream", True),
    ("partial", {"after": "reset"}, "network", True),
    ("partial", {"after": "stall"}, "timeout", True),
    ("error_context.json", {"status": 400}, "context_overflow", False),
]


@pytest.mark.parametrize("wire", WIRES)
@pytest.mark.parametrize(("name", "options", "kind", "partial"), FAILURES)
async def test_failures_end_the_turn_with_their_kind(
    wire: str,
    name: str,
    options: dict[str, Any],
    kind: str,
    partial: bool,
    server: FakeServer,
    spawn: Spawn,
    tmp_path: Path,
) -> None:
    if name.endswith(".json"):
        reply = Reply(options["status"], fixture(name), content_type="application/json")
        server.queue(reply, reply)  # a context overflow is compacted once, then retried once
    else:
        server.queue(Reply(body=fixture(f"{wire}_{name}.sse"), **options))
    home = tmp_path / "home"
    home.mkdir()
    (home / "config.toml").write_text("[providers.openai]\nstall_timeout = 0.5\nmax_attempts = 1\n")
    client = await spawn(_env(tmp_path, server, wire))
    _, events = await turn(client, "hello")
    (end,) = terminal_events(events)
    assert end["type"] == "session.error" and end["payload"]["kind"] == kind
    assert bool(answer_text(events)) is partial
    assert server.requests[0].json["model"] == "gpt-4.1-mini"


@pytest.mark.parametrize("wire", WIRES)
async def test_reasoning_streams_as_thoughts_then_the_answer(
    wire: str, server: FakeServer, spawn: Spawn, tmp_path: Path
) -> None:
    server.queue(Reply(body=fixture(f"{wire}_reasoning.sse")))
    client = await spawn(_env(tmp_path, server, wire))
    _, events = await turn(client, "hi")
    thoughts = [
        e["payload"]["chunk"]["segments"][0]["text"]
        for e in events
        if e["type"] == "session.stream.chunk" and e["payload"]["chunk"]["thoughts"]
    ]
    assert thoughts and answer_text(events)
    assert [e["type"] for e in terminal_events(events)] == ["session.completed"]


@pytest.mark.parametrize("wire", WIRES)
async def test_keep_alives_and_malformed_lines_are_skipped(
    wire: str, server: FakeServer, spawn: Spawn, tmp_path: Path
) -> None:
    server.queue(Reply(body=fixture(f"{wire}_noisy.sse"), chunk_size=5))
    client = await spawn(_env(tmp_path, server, wire))
    _, events = await turn(client, "hi")
    assert [e["type"] for e in terminal_events(events)] == ["session.completed"]
    assert answer_text(events)


@pytest.mark.parametrize(
    ("config", "fragment"),
    [
        ("[providers.openai\nbroken", None),  # not TOML: ignored, the environment still counts
        ('[providers.openai]\nbase_url = "http://127.0.0.1:9/v1"\napi = "soap"\n', "bad config"),
        (
            '[providers.openai]\nbase_url = "http://127.0.0.1:9/v1"\nstall_timeout = -1\n',
            "bad config",
        ),
        ('providers = "x"\n', "bad configuration"),
        ('title = "\ud800"\n', None),  # not UTF-8: ignored
    ],
)
async def test_a_bad_config_file_never_stops_the_daemon(
    config: str, fragment: str | None, tmp_path: Path
) -> None:
    home = tmp_path / "home"
    home.mkdir()
    (home / "config.toml").write_bytes(config.encode("utf-8", "surrogatepass"))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "AGENTD_"))}
    env["AGENTD_HOME"] = str(home)
    client = await AgentdClient.spawn(env=env)
    try:
        assert (await client.call("system.ping"))["ok"] is True
        _, pending = client.start_request("session.create", {"provider": "openai"})
        answer = await asyncio.wait_for(pending, 30)
        assert answer["error"]["data"]["reason"] == "provider_unavailable"
        if fragment is not None:
            assert fragment in answer["error"]["message"]
        assert (await client.call("session.create"))["state"]["provider"] == "scripted"
    finally:
        await client.close()


@pytest.mark.parametrize("wire", WIRES)
async def test_coalesced_deltas_carry_the_whole_answer(
    wire: str, server: FakeServer, spawn: Spawn, tmp_path: Path
) -> None:
    """With coalescing (the default), deltas read together become fewer chunk events; the
    answer and every other event are the same."""
    body = fixture(f"{wire}_plain.sse")
    server.queue(Reply(body=body, chunk_size=len(body)))
    client = await spawn(_env(tmp_path, server, wire, AGENTD_OPENAI_COALESCE="1"))
    _, events = await turn(client, "say hello")
    chunks = [e for e in events if e["type"] == "session.stream.chunk"]
    assert answer_text(events) == "Hello, world!"
    assert 1 <= len(chunks) <= 3
    assert [e["type"] for e in terminal_events(events)] == ["session.completed"]
