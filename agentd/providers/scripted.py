"""The offline ``scripted`` provider: plays deterministic JSON scripts instead of calling a model.

It exists so agentd runs, demos and is tested with no network and no key, and so client developers
can provoke every event sequence (streaming, reasoning, tool rounds, errors, hangs) on demand. The
script format lives in ``script_format`` and ``docs/scripted-provider.md``.

Script selection per request: a ``script:NAME`` token in the last user message, else the request's
``model``, else ``echo``. Round N of the script answers the turn's N-th model request.
"""

from __future__ import annotations

import asyncio
import collections
import copy
import json
import os
import re
from collections.abc import Iterable, Sequence
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path

import attrs

from agentd.providers.base import (
    ChatMessage,
    Done,
    ModelRequest,
    ProviderError,
    ProviderEvent,
    ProviderStream,
    ReasoningDelta,
    TextDelta,
    ToolCall,
    ToolCallRequested,
    Usage,
)
from agentd.providers.script_format import (
    SCRIPT_NAME_RE,
    ErrorStep,
    HangStep,
    Round,
    Script,
    ScriptError,
    SleepStep,
    Step,
    StreamStep,
    ToolCallStep,
    UsageStep,
    parse_script,
    split_pieces,
)

SCRIPTS_ENV = "AGENTD_SCRIPTS_DIR"
DEFAULT_SCRIPT = "echo"
#: Answer played when a turn asks for more rounds than the script has.
FINISHED_TEXT = "(script finished)"
#: ``{last_tool_result}`` is cut to this many characters (plus an ellipsis).
TOOL_RESULT_LIMIT = 200

#: Turns whose script choice is remembered (oldest forgotten first).
_PINNED_TURNS = 4096
_PROMPT_RULE = re.compile(r"\bscript:([A-Za-z0-9_.-]+)")
_TEMPLATE = re.compile(r"\{(prompt|last_tool_result|round|images)\}")
#: Undelayed pieces still hand the loop a turn this often, so an interrupt lands mid-stream.
_YIELD_EVERY = 64
_FINISHED_ROUND = Round(steps=(StreamStep(kind="text", source=FINISHED_TEXT, split="none"),))

_Stamp = tuple[int, int] | None


def builtin_scripts_dir() -> Traversable:
    """The scripts shipped as package data (``agentd/providers/scripts``)."""
    return resources.files("agentd.providers").joinpath("scripts")


class ScriptedProvider:
    """Plays scripts found in ``script_dirs``, then ``$AGENTD_SCRIPTS_DIR``, then the built-ins."""

    name: str = "scripted"

    def __init__(self, script_dirs: Sequence[Path] = ()) -> None:
        self._script_dirs = tuple(Path(d) for d in script_dirs)
        self._cache: dict[str, tuple[_Stamp, Script]] = {}
        self._turn_scripts: collections.OrderedDict[str, str] = collections.OrderedDict()
        #: Failed attempts of ``times`` error steps, by (turn, round, step position).
        self._attempts: collections.OrderedDict[tuple[str, int, int], int] = (
            collections.OrderedDict()
        )

    def search_path(self) -> list[Traversable]:
        """Directories searched in order; the environment is read each time so it can change."""
        env_dirs = [Path(p) for p in os.environ.get(SCRIPTS_ENV, "").split(os.pathsep) if p]
        return [*self._script_dirs, *env_dirs, builtin_scripts_dir()]

    def available_scripts(self) -> list[str]:
        """Every script name that can be selected, sorted."""
        names: set[str] = set()
        for directory in self.search_path():
            names.update(_script_names(directory))
        return sorted(names)

    def model_names(self) -> list[str]:
        """Model listing for ``model.list``: a scripted "model" is a script name."""
        return self.available_scripts()

    async def list_models(self) -> list[str]:
        return self.available_scripts()

    def find_script(self, name: str) -> Traversable | None:
        """The first ``NAME.json`` on the search path, or ``None``."""
        if not SCRIPT_NAME_RE.fullmatch(name):
            return None
        for directory in self.search_path():
            candidate = directory.joinpath(f"{name}.json")
            if candidate.is_file():
                return candidate
        return None

    def load_script(self, name: str) -> Script:
        """Load (or reuse) a script; raises ``ProviderError`` if unknown, ``ScriptError`` if bad."""
        source = self.find_script(name)
        if source is None:
            available = ", ".join(self.available_scripts())
            raise ProviderError(
                "invalid_request", f"unknown script: {name} (available: {available})"
            )
        return self._load(source, name)

    def select_script_name(self, request: ModelRequest) -> str:
        """``script:NAME`` in the last user message beats ``request.model``, which beats echo.

        The choice made at a turn's first request holds for the whole turn (keyed by
        ``turn_id``), so a steer without a ``script:`` token does not change the script.
        """
        turn_id = request.trace.turn_id
        pinned = self._turn_scripts.get(turn_id) if turn_id else None
        if pinned is not None:
            return pinned
        match = _PROMPT_RULE.search(_last_text(request.messages, "user"))
        # "use script:echo." ends a sentence: the full stop is not part of the name
        name = match.group(1).rstrip(".") if match else request.model or DEFAULT_SCRIPT
        if turn_id:
            self._turn_scripts[turn_id] = name
            while len(self._turn_scripts) > _PINNED_TURNS:
                self._turn_scripts.popitem(last=False)
        return name

    async def aclose(self) -> None:
        """Nothing to release: scripts are files read on demand."""

    async def stream(self, request: ModelRequest) -> ProviderStream:
        """Play the round for ``request.trace.round_index``; errors surface as ``ProviderError``."""
        round_ = self._round_for(request)
        play = _Playback(request)
        for position, step in enumerate(round_.steps):
            if isinstance(step, ErrorStep) and step.times is not None:
                if self._failed_enough(request, position, step.times):
                    continue
                raise _error(step)
            if isinstance(step, StreamStep):
                for index, piece in enumerate(play.pieces(step)):
                    await _pause(step.delay_ms, index)
                    yield play.delta(step.kind, piece)
            elif isinstance(step, ToolCallStep):
                yield ToolCallRequested(play.tool_call(step))
            else:
                await _perform(step, play)
        yield play.usage()
        yield Done("tool_calls" if play.tool_calls else "stop")

    def _failed_enough(self, request: ModelRequest, position: int, times: int) -> bool:
        """Count this attempt of a ``times`` error step; true once it has failed ``times``."""
        trace = request.trace
        key = (trace.turn_id, trace.round_index, position)
        failed = self._attempts.get(key, 0)
        if failed >= times:
            return True
        self._attempts[key] = failed + 1
        while len(self._attempts) > _PINNED_TURNS:
            self._attempts.popitem(last=False)
        return False

    def _round_for(self, request: ModelRequest) -> Round:
        index = request.trace.round_index
        if index < 1:
            raise ProviderError("invalid_request", f"round_index must be >= 1, not {index}")
        try:
            script = self.load_script(self.select_script_name(request))
        except ScriptError as exc:
            raise ProviderError("invalid_request", f"bad script: {exc}") from exc
        if index > len(script.rounds):
            return _FINISHED_ROUND
        return script.rounds[index - 1]

    def _load(self, source: Traversable, name: str) -> Script:
        """Parse ``source`` unless the cached parse is still current (same mtime and size)."""
        key = str(source)
        stamp = _stamp(source)
        cached = self._cache.get(key)
        if cached is not None and cached[0] == stamp:
            return cached[1]
        try:
            raw = source.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise ScriptError(key, "", f"cannot read: {exc}") from None
        script = parse_script(raw, key, expected_name=name)
        self._cache[key] = (stamp, script)
        return script


@attrs.define
class _Playback:
    """Per-request state: template values and what was produced (for ids and the usage estimate)."""

    request: ModelRequest
    prompt: str = attrs.field(init=False)
    #: Images attached to the last user message (the ``{images}`` template).
    images: int = attrs.field(init=False)
    last_tool_result: str = attrs.field(init=False)
    text_chars: int = 0
    reasoning_chars: int = 0
    tool_chars: int = 0
    tool_calls: int = 0
    explicit_usage: Usage | None = None

    def __attrs_post_init__(self) -> None:
        self.prompt = _last_text(self.request.messages, "user")
        self.images = _last_images(self.request.messages)
        result = _last_text(self.request.messages, "tool")
        if len(result) > TOOL_RESULT_LIMIT:
            result = result[:TOOL_RESULT_LIMIT] + "…"
        self.last_tool_result = result

    def render(self, text: str) -> str:
        """Fill ``{prompt}``, ``{last_tool_result}``, ``{round}`` in one pass; other braces stay."""
        values = {
            "prompt": self.prompt,
            "last_tool_result": self.last_tool_result,
            "round": str(self.request.trace.round_index),
            "images": str(self.images),
        }
        return _TEMPLATE.sub(lambda m: values[m.group(1)], text)

    def pieces(self, step: StreamStep) -> list[str]:
        if isinstance(step.source, str):
            base = split_pieces(self.render(step.source), step.split)
        else:
            base = [p for p in map(self.render, step.source) if p]
        return base * step.repeat

    def delta(self, kind: str, piece: str) -> ProviderEvent:
        if kind == "reasoning":
            self.reasoning_chars += len(piece)
            return ReasoningDelta(piece)
        self.text_chars += len(piece)
        return TextDelta(piece)

    def tool_call(self, step: ToolCallStep) -> ToolCall:
        self.tool_calls += 1
        call_id = step.call_id or f"call_{self.request.trace.round_index}_{self.tool_calls}"
        arguments = copy.deepcopy(dict(step.arguments))  # the cached script stays pristine
        self.tool_chars += len(step.name) + len(json.dumps(arguments))
        # a script gives parsed arguments: there is no raw text the model "wrote"
        return ToolCall(call_id=call_id, name=step.name, arguments=arguments)

    def usage(self) -> Usage:
        """The script's explicit usage, else ~4 characters per token in and out."""
        if self.explicit_usage is not None:
            return self.explicit_usage
        output = self.text_chars + self.reasoning_chars + self.tool_chars
        return Usage(
            input_tokens=_tokens(_request_chars(self.request)),
            output_tokens=_tokens(output),
            reasoning_tokens=_tokens(self.reasoning_chars),
        )


async def _pause(delay_ms: int, index: int) -> None:
    """Sleep between pieces (not before the first); undelayed streams still yield now and then."""
    if index == 0:
        return
    if delay_ms:
        await asyncio.sleep(delay_ms / 1000)
    elif index % _YIELD_EVERY == 0:
        await asyncio.sleep(0)


async def _perform(step: Step, play: _Playback) -> None:
    """Run a step that yields no event. Cancellation passes straight through every await."""
    if isinstance(step, SleepStep):
        await asyncio.sleep(step.ms / 1000)
    elif isinstance(step, HangStep):
        await asyncio.sleep(step.timeout_ms / 1000)
        raise ProviderError("timeout", f"scripted hang gave up after {step.timeout_ms} ms")
    elif isinstance(step, ErrorStep):
        raise _error(step)
    elif isinstance(step, UsageStep):
        play.explicit_usage = step.usage


def _error(step: ErrorStep) -> ProviderError:
    """A plain error step ends the turn at once; a ``times`` step is retryable by default."""
    retryable = step.retryable if step.retryable is not None else step.times is not None
    delay = None if step.retry_after_ms is None else step.retry_after_ms / 1000
    return ProviderError(step.kind, step.message, retryable=retryable, retry_after=delay)


def _last_text(messages: Sequence[ChatMessage], role: str) -> str:
    for message in reversed(messages):
        if message.role == role:
            return message.text
    return ""


def _last_images(messages: Sequence[ChatMessage]) -> int:
    for message in reversed(messages):
        if message.role == "user":
            return len(message.images)
    return 0


def _request_chars(request: ModelRequest) -> int:
    total = len(request.system_prompt)
    for message in request.messages:
        total += len(message.text)
        for call in message.tool_calls:
            total += len(call.name) + len(json.dumps(call.arguments, default=str))
    return total


def _tokens(chars: int) -> int:
    return (chars + 3) // 4


def _script_names(directory: Traversable) -> Iterable[str]:
    if not directory.is_dir():
        return ()
    stems = (
        e.name[: -len(".json")]
        for e in directory.iterdir()
        if e.name.endswith(".json") and e.is_file()
    )
    return [s for s in stems if SCRIPT_NAME_RE.fullmatch(s)]


def _stamp(source: Traversable) -> _Stamp:
    """(mtime_ns, size) for real files; package data inside an archive never changes (``None``)."""
    if not isinstance(source, Path):
        return None
    try:
        stat = source.stat()
    except OSError:
        return None
    return (stat.st_mtime_ns, stat.st_size)
