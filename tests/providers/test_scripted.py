"""The scripted provider: step kinds, templates, selection, lookup, validation and cancellation."""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from agentd.providers.base import (
    ERROR_KINDS,
    ChatMessage,
    Done,
    ModelRequest,
    Provider,
    ProviderError,
    ProviderEvent,
    ReasoningDelta,
    RequestTrace,
    TextDelta,
    ToolCall,
    ToolCallRequested,
    Usage,
)
from agentd.providers.script_format import (
    SPLIT_MODES,
    ErrorStep,
    ScriptError,
    SplitMode,
    parse_script,
    split_pieces,
)
from agentd.providers.scripted import (
    FINISHED_TEXT,
    SCRIPTS_ENV,
    TOOL_RESULT_LIMIT,
    ScriptedProvider,
    builtin_scripts_dir,
)

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "scripts"
BUILTIN_NAMES = sorted(
    p.name.removesuffix(".json")
    for p in builtin_scripts_dir().iterdir()
    if p.name.endswith(".json")
)
FIXTURE_NAMES = sorted(p.stem for p in FIXTURES.glob("*.json"))
REQUIRED_BUILTINS = {
    "echo", "reasoning", "tool_call", "bash", "slow", "hang",
    "error_rate_limited", "error_auth", "long", "steer",
}  # fmt: skip
BOUND_S = 5.0  # generous: only "it finishes", never a timing assertion


@pytest.fixture(autouse=True)
def _no_env_scripts(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(SCRIPTS_ENV, raising=False)


def make_request(
    prompt: str = "hello world",
    *,
    model: str = "",
    round_index: int = 1,
    extra: Sequence[ChatMessage] = (),
    system_prompt: str = "",
) -> ModelRequest:
    messages = (ChatMessage(role="user", content=prompt), *extra)
    return ModelRequest(
        model=model,
        system_prompt=system_prompt,
        messages=messages,
        trace=RequestTrace(round_index=round_index),
    )


def with_turn(request: ModelRequest, turn_id: str) -> ModelRequest:
    return attrs.evolve(request, trace=attrs.evolve(request.trace, turn_id=turn_id))


def tool_round(result: str, call_id: str = "call_1_1") -> tuple[ChatMessage, ...]:
    """The messages a turn loop appends after one tool round."""
    call = ToolCall(call_id=call_id, name="bash", arguments={"command": "x"})
    return (
        ChatMessage(role="assistant", content="", tool_calls=(call,)),
        ChatMessage(role="tool", content=result, tool_call_id=call_id),
    )


def write_script(directory: Path, name: str, rounds: Any, description: str = "test") -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{name}.json"
    body = {"name": name, "description": description, "rounds": rounds}
    path.write_text(json.dumps(body), encoding="utf-8")
    return path


def one_round(*steps: Any) -> list[dict[str, Any]]:
    return [{"steps": list(steps)}]


async def collect(provider: ScriptedProvider, request: ModelRequest) -> list[ProviderEvent]:
    return [event async for event in provider.stream(request)]


def texts(events: Sequence[ProviderEvent]) -> list[str]:
    return [e.text for e in events if isinstance(e, TextDelta)]


def text_of(events: Sequence[ProviderEvent]) -> str:
    return "".join(texts(events))


# --- step kinds ----------------------------------------------------------------------------------


async def test_echo_is_the_default_and_streams_words() -> None:
    events = await collect(ScriptedProvider(), make_request("hello  world "))
    assert texts(events) == ["You ", "said: ", "hello  ", "world "]
    assert isinstance(events[-2], Usage)
    assert events[-1] == Done("stop")


async def test_text_piece_list_split_modes_and_repeat(tmp_path: Path) -> None:
    write_script(
        tmp_path,
        "t",
        one_round(
            {"text": ["a b", "", "c"], "delay_ms": 1},
            {"text": "xy", "split": "chars"},
            {"text": "one two", "split": "none"},
            {"text": ["w "], "repeat": 3},
        ),
    )
    events = await collect(ScriptedProvider([tmp_path]), make_request(model="t"))
    assert texts(events) == ["a b", "c", "x", "y", "one two", "w ", "w ", "w "]


async def test_long_builtin_has_5000_pieces() -> None:
    events = await collect(ScriptedProvider(), make_request(model="long"))
    assert texts(events) == ["word "] * 5000


async def test_reasoning_step_yields_reasoning_deltas(tmp_path: Path) -> None:
    write_script(tmp_path, "r", one_round({"reasoning": "think hard"}, {"text": "ok"}))
    events = await collect(ScriptedProvider([tmp_path]), make_request(model="r"))
    assert [type(e) for e in events] == [ReasoningDelta, ReasoningDelta, TextDelta, Usage, Done]
    assert "".join(e.text for e in events if isinstance(e, ReasoningDelta)) == "think hard"


async def test_tool_calls_get_default_and_explicit_ids(tmp_path: Path) -> None:
    write_script(
        tmp_path,
        "tc",
        [
            {"steps": [{"text": "x"}]},
            {
                "steps": [
                    {"tool_call": {"name": "bash", "arguments": {"command": "echo one"}}},
                    {"tool_call": {"name": "read_file", "id": "mine"}},
                    {"tool_call": {"name": "list_dir", "arguments": {"dir_path": "."}}},
                ]
            },
        ],
    )
    events = await collect(ScriptedProvider([tmp_path]), make_request(model="tc", round_index=2))
    calls = [e.call for e in events if isinstance(e, ToolCallRequested)]
    assert calls == [
        ToolCall("call_2_1", "bash", {"command": "echo one"}),
        ToolCall("mine", "read_file", {}),
        ToolCall("call_2_3", "list_dir", {"dir_path": "."}),
    ]
    assert events[-1] == Done("tool_calls")


async def test_tool_call_arguments_are_fresh_copies() -> None:
    provider = ScriptedProvider()
    first = await collect(provider, make_request(model="bash"))
    call = next(e.call for e in first if isinstance(e, ToolCallRequested))
    call.arguments["command"] = "rm -rf /"  # type: ignore[index]
    second = await collect(provider, make_request(model="bash"))
    again = next(e.call for e in second if isinstance(e, ToolCallRequested))
    assert again.arguments == {"command": "echo hello from bash"}


async def test_error_after_partial_output() -> None:
    provider = ScriptedProvider([FIXTURES])
    seen: list[ProviderEvent] = []
    with pytest.raises(ProviderError) as info:
        async for event in provider.stream(make_request(model="partial_then_error")):
            seen.append(event)
    assert info.value.kind == "upstream"
    assert seen == [TextDelta("partial "), TextDelta("text")]


@pytest.mark.parametrize(
    ("name", "kind"), [("error_rate_limited", "rate_limited"), ("error_auth", "auth")]
)
async def test_builtin_error_scripts(name: str, kind: str) -> None:
    with pytest.raises(ProviderError) as info:
        await collect(ScriptedProvider(), make_request(model=name))
    assert info.value.kind == kind
    assert info.value.message


async def test_sleep_step_then_text(tmp_path: Path) -> None:
    write_script(tmp_path, "s", one_round({"sleep_ms": 5}, {"text": "after"}))
    events = await collect(ScriptedProvider([tmp_path]), make_request(model="s"))
    assert text_of(events) == "after"


async def test_hang_gives_up_with_timeout_error(tmp_path: Path) -> None:
    write_script(tmp_path, "h", one_round({"text": "a"}, {"hang": True, "timeout_ms": 10}))
    with pytest.raises(ProviderError) as info:
        await asyncio.wait_for(
            collect(ScriptedProvider([tmp_path]), make_request(model="h")), BOUND_S
        )
    assert info.value.kind == "timeout"


async def test_explicit_usage_replaces_the_estimate() -> None:
    events = await collect(ScriptedProvider([FIXTURES]), make_request(model="every_step"))
    usages = [e for e in events if isinstance(e, Usage)]
    assert usages == [
        Usage(input_tokens=10, cached_input_tokens=4, output_tokens=7, reasoning_tokens=2)
    ]
    assert events[-2:] == [usages[0], Done("tool_calls")]
    assert text_of(events) == "abround 1"
    call = next(e.call for e in events if isinstance(e, ToolCallRequested))
    assert call.call_id == "call_custom"


async def test_usage_estimate_is_deterministic(tmp_path: Path) -> None:
    write_script(tmp_path, "u", one_round({"reasoning": "abcd"}, {"text": "12345678"}))
    request = make_request("hello", model="u", system_prompt="sys")  # 3 + 5 chars in
    events = await collect(ScriptedProvider([tmp_path]), request)
    usage = next(e for e in events if isinstance(e, Usage))
    assert usage == Usage(input_tokens=2, output_tokens=3, reasoning_tokens=1)


# --- templates -----------------------------------------------------------------------------------


async def test_templates_fill_prompt_tool_result_and_round(tmp_path: Path) -> None:
    write_script(
        tmp_path,
        "tpl",
        [
            {"steps": [{"text": "x"}]},
            {"steps": [{"text": "p={prompt} r={last_tool_result} n={round} {other}"}]},
        ],
    )
    extra = (*tool_round("RESULT"), ChatMessage(role="user", content="the steer {round}"))
    events = await collect(
        ScriptedProvider([tmp_path]), make_request("first", model="tpl", round_index=2, extra=extra)
    )
    # the steer is the last user message; braces inside it are not expanded again
    assert text_of(events) == "p=the steer {round} r=RESULT n=2 {other}"


async def test_last_tool_result_is_truncated(tmp_path: Path) -> None:
    write_script(tmp_path, "tr", one_round({"text": "{last_tool_result}", "split": "none"}))
    long_result = "x" * (TOOL_RESULT_LIMIT + 50)
    events = await collect(
        ScriptedProvider([tmp_path]), make_request(model="tr", extra=tool_round(long_result))
    )
    assert text_of(events) == "x" * TOOL_RESULT_LIMIT + "…"


async def test_empty_template_yields_no_empty_pieces(tmp_path: Path) -> None:
    write_script(tmp_path, "e", one_round({"text": "{last_tool_result}"}))
    events = await collect(ScriptedProvider([tmp_path]), make_request(model="e"))
    assert [type(e) for e in events] == [Usage, Done]


@given(st.text(), st.sampled_from(SPLIT_MODES))
def test_pieces_concatenate_back_exactly(text: str, mode: SplitMode) -> None:
    pieces = split_pieces(text, mode)
    assert "".join(pieces) == text
    assert all(pieces)
    if mode == "words":
        assert all(len(p.split()) <= 1 for p in pieces)


# --- builtin behaviour ---------------------------------------------------------------------------


async def test_tool_call_builtin_two_rounds() -> None:
    provider = ScriptedProvider()
    first = await collect(provider, make_request(model="tool_call"))
    assert text_of(first) == "Let me look."
    calls = [e.call for e in first if isinstance(e, ToolCallRequested)]
    assert calls == [ToolCall("call_1_1", "read_file", {"file_path": "README.md"})]
    assert first[-1] == Done("tool_calls")
    second = await collect(
        provider, make_request(model="tool_call", round_index=2, extra=tool_round("L1: hi"))
    )
    assert "L1: hi" in text_of(second)
    assert second[-1] == Done("stop")


async def test_steer_builtin_shows_the_steer_in_round_two() -> None:
    provider = ScriptedProvider()
    first = await collect(provider, make_request(model="steer"))
    call = next(e.call for e in first if isinstance(e, ToolCallRequested))
    assert (call.name, call.arguments) == ("bash", {"command": "sleep 1"})
    extra = (*tool_round("ok"), ChatMessage(role="user", content="also mention cats"))
    second = await collect(provider, make_request(model="steer", round_index=2, extra=extra))
    assert "also mention cats" in text_of(second)


async def test_multi_round_fixture_plays_three_rounds() -> None:
    provider = ScriptedProvider([FIXTURES])
    finishes = []
    for index in (1, 2, 3):
        events = await collect(provider, make_request(model="multi_round", round_index=index))
        finishes.append(events[-1])
    assert finishes == [Done("tool_calls"), Done("tool_calls"), Done("stop")]


async def test_round_beyond_script_plays_finished_answer() -> None:
    events = await collect(ScriptedProvider(), make_request(model="echo", round_index=2))
    assert texts(events) == [FINISHED_TEXT]
    assert events[-1] == Done("stop")


async def test_round_index_below_one_is_invalid() -> None:
    with pytest.raises(ProviderError) as info:
        await collect(ScriptedProvider(), make_request(round_index=0))
    assert info.value.kind == "invalid_request"


# --- selection -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("prompt", "model", "expected"),
    [
        ("please use script:bash now", "tool_call", "bash"),  # prompt rule beats the model
        ("hi", "tool_call", "tool_call"),  # model beats the default
        ("hi", "", "echo"),  # default
        ("end with script:hang.", "", "hang"),  # a sentence's full stop is not part of the name
        ("script:long then script:bash", "", "long"),  # the first token counts
        ("noscript:bash", "", "echo"),  # needs a word boundary
    ],
)
def test_selection_precedence(prompt: str, model: str, expected: str) -> None:
    provider = ScriptedProvider()
    assert provider.select_script_name(make_request(prompt, model=model)) == expected


def test_only_the_last_user_message_selects() -> None:
    extra = (ChatMessage(role="assistant", content="ok"), ChatMessage(role="user", content="plain"))
    request = make_request("script:bash", model="reasoning", extra=extra)
    assert ScriptedProvider().select_script_name(request) == "reasoning"


def test_the_first_request_of_a_turn_pins_its_script() -> None:
    provider = ScriptedProvider()
    first = with_turn(make_request("script:steer go", model="echo"), "t1")
    assert provider.select_script_name(first) == "steer"
    extra = (*tool_round("r"), ChatMessage(role="user", content="also mention cats"))
    second = with_turn(make_request("script:steer go", model="echo", extra=extra), "t1")
    assert provider.select_script_name(second) == "steer"
    other_turn = with_turn(make_request("plain", model="echo"), "t2")
    assert provider.select_script_name(other_turn) == "echo"


async def test_a_steer_can_switch_script() -> None:
    extra = (*tool_round("r"), ChatMessage(role="user", content="now script:reasoning"))
    events = await collect(ScriptedProvider(), make_request(model="echo", extra=extra))
    assert any(isinstance(e, ReasoningDelta) for e in events)


@pytest.mark.parametrize(
    ("prompt", "model", "name"),
    [("script:nope", "", "nope"), ("hi", "gpt-4o", "gpt-4o"), ("hi", "../echo", "../echo")],
)
async def test_unknown_script_is_invalid_request(prompt: str, model: str, name: str) -> None:
    with pytest.raises(ProviderError) as info:
        await collect(ScriptedProvider(), make_request(prompt, model=model))
    assert info.value.kind == "invalid_request"
    assert info.value.message.startswith(f"unknown script: {name} (available: ")
    assert "echo" in info.value.message


# --- lookup --------------------------------------------------------------------------------------


async def test_script_dir_precedence(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    first, second, env_a, env_b = (tmp_path / n for n in ("first", "second", "env_a", "env_b"))
    for directory in (first, second, env_a, env_b):
        write_script(directory, "echo", one_round({"text": directory.name, "split": "none"}))
    write_script(env_b, "only_env_b", one_round({"text": "b", "split": "none"}))
    monkeypatch.setenv(SCRIPTS_ENV, os.pathsep.join([str(env_a), "", str(env_b)]))

    async def played(provider: ScriptedProvider, model: str = "echo") -> str:
        return text_of(await collect(provider, make_request(model=model)))

    assert await played(ScriptedProvider([first, second])) == "first"
    assert await played(ScriptedProvider([second, first])) == "second"
    assert await played(ScriptedProvider()) == "env_a"  # env beats the built-in
    assert await played(ScriptedProvider(), "only_env_b") == "b"
    monkeypatch.delenv(SCRIPTS_ENV)
    assert (await played(ScriptedProvider())).startswith("You said:")  # the built-in again


def test_available_scripts_is_a_sorted_union(tmp_path: Path) -> None:
    write_script(tmp_path, "zzz_extra", one_round({"text": "z"}))
    write_script(tmp_path, "echo", one_round({"text": "shadow"}))
    (tmp_path / "notes.txt").write_text("not a script")
    provider = ScriptedProvider([tmp_path])
    names = provider.available_scripts()
    assert names == sorted(set(names))
    assert {"zzz_extra", "echo"} | REQUIRED_BUILTINS <= set(names)
    assert "notes" not in names
    assert provider.model_names() == names


def test_parsed_scripts_are_cached_until_the_file_changes(tmp_path: Path) -> None:
    path = write_script(tmp_path, "c", one_round({"text": "v1"}))
    provider = ScriptedProvider([tmp_path])
    loaded = provider.load_script("c")
    assert provider.load_script("c") is loaded
    write_script(tmp_path, "c", one_round({"text": "version2"}))
    os.utime(path, ns=(0, path.stat().st_mtime_ns + 1_000_000_000))
    reloaded = provider.load_script("c")
    assert reloaded is not loaded
    assert reloaded.rounds[0].steps[0].source == "version2"  # type: ignore[union-attr]


def test_provider_satisfies_the_protocol() -> None:
    provider: Provider = ScriptedProvider()
    assert provider.name == "scripted"


# --- validation ----------------------------------------------------------------------------------


@pytest.mark.parametrize("name", BUILTIN_NAMES)
def test_builtin_scripts_validate(name: str) -> None:
    script = ScriptedProvider().load_script(name)
    assert script.name == name
    assert script.description


@pytest.mark.parametrize("name", FIXTURE_NAMES)
def test_fixture_scripts_validate(name: str) -> None:
    script = ScriptedProvider([FIXTURES]).load_script(name)
    assert script.name == name
    assert script.description


def test_required_builtins_are_shipped() -> None:
    assert set(BUILTIN_NAMES) >= REQUIRED_BUILTINS


def test_required_fixtures_exist() -> None:
    assert {"two_tools", "partial_then_error", "tool_hang", "multi_round"} <= set(FIXTURE_NAMES)


def _steps(*steps: Any) -> dict[str, Any]:
    return {"name": "bad", "description": "", "rounds": one_round(*steps)}


BAD_SCRIPTS: list[tuple[str, Any, str]] = [
    ("json", "{not json", "invalid JSON"),
    ("top not object", [], "must be an object"),
    ("missing rounds", {"name": "bad", "description": ""}, "missing key(s) ['rounds']"),
    ("unknown top key", {**_steps({"text": "a"}), "extra": 1}, "unknown key(s) ['extra']"),
    ("empty rounds", {"name": "bad", "description": "", "rounds": []}, "rounds: must be"),
    ("name mismatch", {**_steps({"text": "a"}), "name": "other"}, "name: is 'other'"),
    ("round key", {"name": "bad", "description": "", "rounds": [{"stepz": []}]}, "rounds[0]:"),
    ("steps not list", {"name": "bad", "description": "", "rounds": [{"steps": {}}]}, "steps:"),
    ("step not object", _steps("text"), "rounds[0].steps[0]: a step must be an object"),
    ("no kind", _steps({"delay_ms": 1}), "rounds[0].steps[0]: a step needs exactly one"),
    ("two kinds", _steps({"text": "a", "reasoning": "b"}), "needs exactly one"),
    ("unknown option", _steps({"text": "a", "speed": 1}), "unknown key(s) for a text step"),
    ("hang option on text", _steps({"text": "a", "timeout_ms": 1}), "unknown key(s)"),
    ("text number", _steps({"text": 3}), "steps[0].text: must be a string or"),
    ("text empty list", _steps({"text": []}), "steps[0].text: must be a string or"),
    ("text list item", _steps({"reasoning": ["a", 1]}), "steps[0].reasoning[1]: must be a string"),
    ("bad split", _steps({"text": "a", "split": "lines"}), "steps[0].split: must be one of"),
    ("split on list", _steps({"text": ["a"], "split": "chars"}), "steps[0].split: only applies"),
    ("negative delay", _steps({"text": "a", "delay_ms": -1}), "steps[0].delay_ms: must be >= 0"),
    ("bool delay", _steps({"text": "a", "delay_ms": True}), "delay_ms: must be an integer"),
    ("float delay", _steps({"text": "a", "delay_ms": 1.5}), "delay_ms: must be an integer"),
    ("repeat zero", _steps({"text": "a", "repeat": 0}), "steps[0].repeat: must be between"),
    ("tool no name", _steps({"tool_call": {"arguments": {}}}), "tool_call: missing key(s)"),
    ("tool empty name", _steps({"tool_call": {"name": ""}}), "tool_call.name: must not be empty"),
    ("tool args", _steps({"tool_call": {"name": "x", "arguments": []}}), "arguments: must be"),
    ("tool id", _steps({"tool_call": {"name": "x", "id": 5}}), "tool_call.id: must be a string"),
    ("tool key", _steps({"tool_call": {"name": "x", "args": {}}}), "unknown key(s) ['args']"),
    ("error kind", _steps({"error": {"kind": "oops", "message": "m"}}), "error.kind: must be one"),
    ("error message", _steps({"error": {"kind": "auth"}}), "error: missing key(s) ['message']"),
    ("sleep negative", _steps({"sleep_ms": -5}), "steps[0].sleep_ms: must be >= 0"),
    ("hang false", _steps({"hang": False}), "steps[0].hang: must be true"),
    ("hang timeout", _steps({"hang": True, "timeout_ms": 0}), "steps[0].timeout_ms: must be >= 1"),
    ("usage key", _steps({"usage": {"tokens": 1}}), "steps[0].usage: unknown key(s) ['tokens']"),
    ("usage value", _steps({"usage": {"input_tokens": -1}}), "usage.input_tokens: must be >= 0"),
    (
        "error not last",
        _steps({"error": {"kind": "auth", "message": "m"}}, {"text": "never"}),
        "rounds[0].steps[0]: an error or hang step must be the last step",
    ),
    (
        "two usages",
        _steps({"usage": {}}, {"usage": {}}),
        "at most one usage step",
    ),
    (
        "duplicate ids",
        _steps({"tool_call": {"name": "a", "id": "x"}}, {"tool_call": {"name": "b", "id": "x"}}),
        "tool call ids must be unique",
    ),
]


@pytest.mark.parametrize(
    ("content", "expected"), [c[1:] for c in BAD_SCRIPTS], ids=[c[0] for c in BAD_SCRIPTS]
)
def test_bad_scripts_raise_script_error_naming_file_and_step(
    tmp_path: Path, content: Any, expected: str
) -> None:
    path = tmp_path / "bad.json"
    path.write_text(content if isinstance(content, str) else json.dumps(content), encoding="utf-8")
    with pytest.raises(ScriptError) as info:
        ScriptedProvider([tmp_path]).load_script("bad")
    message = str(info.value)
    assert message.startswith(f"{path}: ")
    assert expected in message
    assert info.value.path == str(path)


async def test_bad_script_during_a_turn_is_a_provider_error(tmp_path: Path) -> None:
    (tmp_path / "bad.json").write_text(json.dumps(_steps({"error": {"kind": "nope"}})))
    with pytest.raises(ProviderError) as info:
        await collect(ScriptedProvider([tmp_path]), make_request(model="bad"))
    assert info.value.kind == "invalid_request"
    assert str(tmp_path / "bad.json") in info.value.message


def test_every_error_kind_is_accepted() -> None:
    # every kind the interface defines is a valid script error kind
    for kind in ERROR_KINDS:
        body = {
            "name": "k",
            "description": "",
            "rounds": one_round({"error": {"kind": kind, "message": "m"}}),
        }
        step = parse_script(json.dumps(body), "k.json", "k").rounds[0].steps[0]
        assert step == ErrorStep(kind=kind, message="m")


# --- cancellation --------------------------------------------------------------------------------


async def _cancel_after_first_event(provider: ScriptedProvider, request: ModelRequest) -> bool:
    """Start streaming, cancel once the stream is running, report whether the task got cancelled."""
    started = asyncio.Event()
    seen: list[ProviderEvent] = []

    async def consume() -> None:
        async for event in provider.stream(request):
            seen.append(event)
            started.set()

    task = asyncio.create_task(consume())
    await asyncio.wait_for(started.wait(), BOUND_S)
    task.cancel()
    done, _ = await asyncio.wait({task}, timeout=BOUND_S)
    return task in done and task.cancelled()


async def test_cancel_during_hang_ends_promptly() -> None:
    provider = ScriptedProvider()
    task = asyncio.create_task(collect(provider, make_request(model="hang")))
    await asyncio.sleep(0.05)
    assert not task.done()
    task.cancel()
    done, _ = await asyncio.wait({task}, timeout=BOUND_S)
    assert task in done and task.cancelled()


async def test_cancel_during_piece_delays_ends_promptly() -> None:
    assert await _cancel_after_first_event(ScriptedProvider(), make_request(model="slow"))


async def test_cancel_during_sleep_step_ends_promptly(tmp_path: Path) -> None:
    write_script(tmp_path, "z", one_round({"text": "a"}, {"sleep_ms": 3_600_000}))
    assert await _cancel_after_first_event(ScriptedProvider([tmp_path]), make_request(model="z"))


async def test_cancel_after_partial_output_of_hang(tmp_path: Path) -> None:
    write_script(tmp_path, "ph", one_round({"text": "partial"}, {"hang": True}))
    assert await _cancel_after_first_event(ScriptedProvider([tmp_path]), make_request(model="ph"))


async def test_an_error_step_with_times_fails_that_often_then_is_skipped(tmp_path: Path) -> None:
    write_script(
        tmp_path,
        "flaky",
        one_round(
            {"error": {"kind": "network", "message": "reset", "times": 2, "retry_after_ms": 5}},
            {"text": "ok", "split": "none"},
        ),
    )
    provider = ScriptedProvider([tmp_path])
    request = with_turn(make_request(model="flaky"), "t1")
    for _ in range(2):
        with pytest.raises(ProviderError) as failed:
            await collect(provider, request)
        assert (failed.value.kind, failed.value.retryable, failed.value.retry_after) == (
            "network",
            True,
            0.005,
        )
    assert texts(await collect(provider, request)) == ["ok"]
    # another turn starts counting afresh
    with pytest.raises(ProviderError):
        await collect(provider, with_turn(make_request(model="flaky"), "t2"))


async def test_a_plain_error_step_is_not_retryable(tmp_path: Path) -> None:
    write_script(tmp_path, "down", one_round({"error": {"kind": "upstream", "message": "500"}}))
    with pytest.raises(ProviderError) as failed:
        await collect(ScriptedProvider([tmp_path]), make_request(model="down"))
    assert failed.value.retryable is False and failed.value.retry_after is None


@pytest.mark.parametrize(
    ("error", "problem"),
    [
        ({"kind": "upstream", "message": "x", "times": 0}, "times: must be between 1"),
        ({"kind": "upstream", "message": "x", "retryable": "yes"}, "retryable: must be a boolean"),
        (
            {"kind": "upstream", "message": "x", "retry_after_ms": -1},
            "retry_after_ms: must be >= 0",
        ),
    ],
)
def test_error_step_options_are_validated(error: dict[str, Any], problem: str) -> None:
    body = {"name": "bad", "description": "d", "rounds": one_round({"error": error})}
    with pytest.raises(ScriptError, match=problem):
        parse_script(json.dumps(body), "bad.json", expected_name="bad")
