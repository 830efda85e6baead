"""The scripted provider's script format: parse and validate JSON scripts into frozen step objects.

Validation is strict and happens once, at load: a typo in a script should fail loudly with the file
and the step path (``rounds[0].steps[2].text``), not half-way through a demo. The format is
documented in ``docs/scripted-provider.md``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from collections.abc import Set as AbstractSet
from typing import Any, Literal, TypeAlias, cast

import attrs

from agentd.providers.base import ERROR_KINDS, ErrorKind, Usage

SplitMode = Literal["words", "chars", "none"]
SPLIT_MODES: tuple[SplitMode, ...] = ("words", "chars", "none")

#: Script names are file stems; the pattern keeps them safe to join onto a directory.
SCRIPT_NAME_RE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]*")

MAX_REPEAT = 100_000
DEFAULT_HANG_TIMEOUT_MS = 3_600_000

_TOP_KEYS = frozenset({"name", "description", "rounds"})
_STREAM_OPTIONS = frozenset({"delay_ms", "split", "repeat"})
_USAGE_KEYS = ("input_tokens", "cached_input_tokens", "output_tokens", "reasoning_tokens")
_KIND_OPTIONS: Mapping[str, frozenset[str]] = {
    "text": _STREAM_OPTIONS,
    "reasoning": _STREAM_OPTIONS,
    "tool_call": frozenset(),
    "error": frozenset(),
    "sleep_ms": frozenset(),
    "hang": frozenset({"timeout_ms"}),
    "usage": frozenset(),
}


class ScriptError(ValueError):
    """A script file is unreadable or invalid; the message names the file and the step path."""

    def __init__(self, path: str, location: str, problem: str) -> None:
        where = f"{path}: {location}" if location else path
        super().__init__(f"{where}: {problem}")
        self.path = path
        self.location = location
        self.problem = problem


@attrs.frozen
class StreamStep:
    """Streamed text (``kind="text"``) or reasoning; pieces are built at play time (templates)."""

    kind: Literal["text", "reasoning"]
    source: str | tuple[str, ...]
    split: SplitMode = "words"
    delay_ms: int = 0
    repeat: int = 1


@attrs.frozen
class ToolCallStep:
    name: str
    arguments: Mapping[str, Any]
    call_id: str | None = None


@attrs.frozen
class ErrorStep:
    """Fail the model request. With ``times``, only the first ``times`` attempts of the round
    fail (then the step is skipped), so retries can be tested offline."""

    kind: ErrorKind
    message: str
    times: int | None = None
    retryable: bool | None = None
    retry_after_ms: int | None = None


@attrs.frozen
class SleepStep:
    ms: int


@attrs.frozen
class HangStep:
    timeout_ms: int = DEFAULT_HANG_TIMEOUT_MS


@attrs.frozen
class UsageStep:
    usage: Usage


Step: TypeAlias = StreamStep | ToolCallStep | ErrorStep | SleepStep | HangStep | UsageStep


@attrs.frozen
class Round:
    steps: tuple[Step, ...]


@attrs.frozen
class Script:
    name: str
    description: str
    rounds: tuple[Round, ...]
    path: str


def split_pieces(text: str, mode: SplitMode) -> list[str]:
    """Split ``text`` into stream pieces that concatenate back to exactly ``text``.

    ``words`` keeps whitespace attached to the word before it (leading whitespace to the first
    word), so a client that glues deltas together sees the original spacing.
    """
    if mode == "none":
        return [text] if text else []
    if mode == "chars":
        return list(text)
    return re.findall(r"\s*\S+\s*|\s+", text)


def parse_script(raw: str, path: str, expected_name: str | None = None) -> Script:
    """Parse and validate one script's JSON text; ``path`` is only used in error messages."""
    try:
        data = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise ScriptError(path, "", f"invalid JSON: {exc}") from None
    return _Parser(path).script(data, expected_name)


@attrs.define
class _Parser:
    """Walks the decoded JSON; every check reports the step path it failed at."""

    path: str

    def fail(self, location: str, problem: str) -> ScriptError:
        return ScriptError(self.path, location, problem)

    def script(self, data: object, expected_name: str | None) -> Script:
        obj = self.mapping(data, "", required=_TOP_KEYS, allowed=_TOP_KEYS)
        name = self.string(obj["name"], "name", non_empty=True)
        if not SCRIPT_NAME_RE.fullmatch(name):
            raise self.fail("name", f"invalid script name {name!r}")
        if expected_name is not None and name != expected_name:
            raise self.fail("name", f"is {name!r} but the file is named {expected_name!r}.json")
        description = self.string(obj["description"], "description")
        rounds_raw = obj["rounds"]
        if not isinstance(rounds_raw, list) or not rounds_raw:
            raise self.fail("rounds", "must be a non-empty list of rounds")
        rounds = tuple(self.round(r, f"rounds[{i}]") for i, r in enumerate(rounds_raw))
        return Script(name=name, description=description, rounds=rounds, path=self.path)

    def round(self, data: object, where: str) -> Round:
        obj = self.mapping(data, where, required={"steps"}, allowed={"steps"})
        steps_raw = obj["steps"]
        if not isinstance(steps_raw, list):
            raise self.fail(f"{where}.steps", "must be a list of steps")
        steps = tuple(self.step(s, f"{where}.steps[{i}]") for i, s in enumerate(steps_raw))
        self.check_round(steps, where)
        return Round(steps=steps)

    def check_round(self, steps: tuple[Step, ...], where: str) -> None:
        """Reject rounds whose later steps could never run or whose output would be ambiguous."""
        for i, step in enumerate(steps[:-1]):
            if isinstance(step, HangStep) or (isinstance(step, ErrorStep) and step.times is None):
                raise self.fail(
                    f"{where}.steps[{i}]", "an error or hang step must be the last step"
                )
        if sum(isinstance(s, UsageStep) for s in steps) > 1:
            raise self.fail(f"{where}.steps", "at most one usage step per round")
        ids = [s.call_id for s in steps if isinstance(s, ToolCallStep) and s.call_id is not None]
        if len(ids) != len(set(ids)):
            raise self.fail(f"{where}.steps", "tool call ids must be unique within a round")

    def step(self, data: object, where: str) -> Step:
        if not isinstance(data, dict):
            raise self.fail(where, "a step must be an object")
        kinds = [k for k in data if k in _KIND_OPTIONS]
        if len(kinds) != 1:
            expected = ", ".join(_KIND_OPTIONS)
            raise self.fail(where, f"a step needs exactly one of: {expected} (got {sorted(data)})")
        kind = kinds[0]
        extra = set(data) - {kind} - _KIND_OPTIONS[kind]
        if extra:
            raise self.fail(where, f"unknown key(s) for a {kind} step: {sorted(extra)}")
        value, at = data[kind], f"{where}.{kind}"
        if kind in ("text", "reasoning"):
            return self.stream(cast(Literal["text", "reasoning"], kind), data, where)
        if kind == "tool_call":
            return self.tool_call(value, at)
        if kind == "error":
            return self.error(value, at)
        if kind == "sleep_ms":
            return SleepStep(ms=self.integer(value, at, minimum=0))
        if kind == "hang":
            return self.hang(data, where)
        return self.usage(value, at)

    def stream(self, kind: Literal["text", "reasoning"], data: dict[str, Any], where: str) -> Step:
        value, at = data[kind], f"{where}.{kind}"
        source: str | tuple[str, ...]
        if isinstance(value, str):
            source = value
        elif isinstance(value, list) and value:
            source = tuple(self.string(p, f"{at}[{i}]") for i, p in enumerate(value))
        else:
            raise self.fail(at, "must be a string or a non-empty list of strings")
        split = data.get("split", "words")
        if split not in SPLIT_MODES:
            raise self.fail(f"{where}.split", f"must be one of {list(SPLIT_MODES)}")
        if "split" in data and not isinstance(source, str):
            raise self.fail(f"{where}.split", "only applies when the value is a single string")
        return StreamStep(
            kind=kind,
            source=source,
            split=split,
            delay_ms=self.integer(data.get("delay_ms", 0), f"{where}.delay_ms", minimum=0),
            repeat=self.integer(
                data.get("repeat", 1), f"{where}.repeat", minimum=1, maximum=MAX_REPEAT
            ),
        )

    def tool_call(self, value: object, at: str) -> ToolCallStep:
        obj = self.mapping(value, at, required={"name"}, allowed={"name", "arguments", "id"})
        arguments = obj.get("arguments", {})
        if not isinstance(arguments, dict):
            raise self.fail(f"{at}.arguments", "must be an object")
        call_id = obj.get("id")
        if call_id is not None:
            call_id = self.string(call_id, f"{at}.id", non_empty=True)
        return ToolCallStep(
            name=self.string(obj["name"], f"{at}.name", non_empty=True),
            arguments=arguments,
            call_id=call_id,
        )

    def error(self, value: object, at: str) -> ErrorStep:
        obj = self.mapping(
            value,
            at,
            required={"kind", "message"},
            allowed={"kind", "message", "times", "retryable", "retry_after_ms"},
        )
        kind = obj["kind"]
        if kind not in ERROR_KINDS:
            raise self.fail(f"{at}.kind", f"must be one of {list(ERROR_KINDS)}, not {kind!r}")
        message = self.string(obj["message"], f"{at}.message", non_empty=True)
        times = obj.get("times")
        if times is not None:
            times = self.integer(times, f"{at}.times", minimum=1, maximum=MAX_REPEAT)
        retryable = obj.get("retryable")
        if retryable is not None and not isinstance(retryable, bool):
            raise self.fail(f"{at}.retryable", "must be a boolean")
        retry_after = obj.get("retry_after_ms")
        if retry_after is not None:
            retry_after = self.integer(retry_after, f"{at}.retry_after_ms", minimum=0)
        return ErrorStep(
            kind=cast(ErrorKind, kind),
            message=message,
            times=times,
            retryable=retryable,
            retry_after_ms=retry_after,
        )

    def hang(self, data: dict[str, Any], where: str) -> HangStep:
        if data["hang"] is not True:
            raise self.fail(f"{where}.hang", "must be true")
        timeout = data.get("timeout_ms", DEFAULT_HANG_TIMEOUT_MS)
        return HangStep(timeout_ms=self.integer(timeout, f"{where}.timeout_ms", minimum=1))

    def usage(self, value: object, at: str) -> UsageStep:
        obj = self.mapping(value, at, required=set(), allowed=set(_USAGE_KEYS))
        counts = {k: self.integer(v, f"{at}.{k}", minimum=0) for k, v in obj.items()}
        return UsageStep(usage=Usage(**counts))

    def mapping(
        self, value: object, at: str, *, required: AbstractSet[str], allowed: AbstractSet[str]
    ) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise self.fail(at, "must be an object")
        missing = sorted(required - set(value))
        if missing:
            raise self.fail(at, f"missing key(s) {missing}")
        extra = sorted(set(value) - allowed)
        if extra:
            raise self.fail(at, f"unknown key(s) {extra}")
        return cast(dict[str, Any], value)

    def string(self, value: object, at: str, *, non_empty: bool = False) -> str:
        if not isinstance(value, str):
            raise self.fail(at, "must be a string")
        if non_empty and not value:
            raise self.fail(at, "must not be empty")
        return value

    def integer(self, value: object, at: str, *, minimum: int, maximum: int | None = None) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.fail(at, "must be an integer")
        if value < minimum or (maximum is not None and value > maximum):
            bound = f"between {minimum} and {maximum}" if maximum is not None else f">= {minimum}"
            raise self.fail(at, f"must be {bound}, not {value}")
        return value
