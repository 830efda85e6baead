"""Renders the reference part of ``docs/protocol.md`` from the types the daemon uses.

The method table (``agentd.api.methods``), the params classes, the result and event payload
``TypedDict``s are the single source; this module turns them into tables between
``<!-- BEGIN GENERATED: name -->`` and ``<!-- END GENERATED: name -->`` markers and leaves the
prose around them alone. The per-method errors and the per-event "when" are written here, next
to the renderer, and a test fails when a method or event has none (or the doc is stale).

``python -m agentd.docgen`` rewrites docs/protocol.md; ``--check`` only says whether it is current.
"""

from __future__ import annotations

import re
import sys
import types
import typing
from pathlib import Path
from typing import (
    Any,
    Literal,
    NotRequired,
    Required,
    get_args,
    get_origin,
    get_type_hints,
)

import attrs

from agentd.api.methods import BY_NAME, CANCEL_NOTIFICATION
from agentd.api.schema import method_rows
from agentd.protocol.events import EVENTS

DOC = Path(__file__).resolve().parents[1] / "docs" / "protocol.md"

#: Errors every request can get, listed once instead of under each method.
COMMON_ERRORS = (
    "Every request can also be answered `-32600` `shutting_down` (after `shutdown` / "
    "`system.shutdown`), `-32800` `request_cancelled` (`$/cancelRequest`, or stdin closed), "
    "`-32005` `overloaded` (1,024 requests in flight; `data.retry_after_ms`) and `-32603` "
    "`internal_error` (a bug). A params object that breaks the types below is `-32602` "
    "`invalid_params` with `data.field`."
)
SESSION_NOT_FOUND = "`-32001` `session_not_found`: `unknown session: <id>`"

#: What each method does and the errors of its own (beyond ``COMMON_ERRORS``).
METHOD_NOTES: dict[str, tuple[str, tuple[str, ...]]] = {
    "rpc.handshake": (
        "Optional handshake (the reference's). `methods` lists every method served.",
        (
            "`-32602` `unsupported_protocol_version` when `strict` and `protocol_version` "
            "differs (`data.supported`)",
        ),
    ),
    "initialize": (
        "LSP-style start; with `processId` agentd exits when that process dies.",
        ('`-32602` with `data.field: "processId"` unless 1..2^31-1',),
    ),
    "initialized": ("LSP notification; accepted and ignored.", ()),
    "shutdown": ("LSP shutdown: interrupts turns, flushes history, answers `null`.", ()),
    "exit": ("LSP notification: exit code 0 after `shutdown`, else 1.", ()),
    "system.ping": ("Liveness check; answered before the core is loaded.", ()),
    "system.shutdown": (
        "Emits `state.changed {reason}`, ends running turns interrupted, drops queues, then "
        "answers; agentd exits when stdin closes.",
        (),
    ),
    "state.get": ("The reference's state snapshot (auth, model, sessions, skills).", ()),
    "session.create": (
        "A new in-memory session; `resume_id` continues a saved record (its messages become "
        "the context and new turns append to it).",
        (
            "`-32602` unknown provider, `cwd` not an existing directory, bad `approval_policy`",
            "`-32004` `provider_unavailable`: the provider has no key or token",
            "`-32005` `overloaded`: 10,000 sessions",
            "`-32003` `history_not_found`: no record matched `resume_id`",
            "`-32602` `path_outside_history`: a `resume_id` path outside the history directory",
            "`-32006` `record_locked`: the record is open in another session or process",
        ),
    ),
    "session.get": ("The session's state: transcript, model context, queue, status.", ()),
    "session.send": (
        "Starts a turn (answered once the prompt is on disk), or queues the prompt when "
        "`enqueue` is true and a turn runs. Events follow (see Ordering).",
        (
            "`-32002` `session_busy`: a turn runs and `enqueue` is false",
            "`-32006` `invalid_state`: no text and no image, or the session is being cleared",
            "`-32005` `overloaded`: 256 queued prompts, or the store did not answer in 30 s",
        ),
    ),
    "session.steer": (
        "Adds text to the running turn's next model request; `accepted: false` when idle.",
        (),
    ),
    "session.interrupt": (
        "Ends the running turn as `session.interrupted` (partial output kept); "
        "`clear_queue` also drops queued prompts. `interrupted: false` when idle.",
        (),
    ),
    "session.queue.list": ("The prompts queued behind the running turn, oldest first.", ()),
    "session.queue.clear": ("Drops every queued prompt.", ()),
    "session.queue.remove": ("Drops one queued prompt by its id.", ()),
    "history.clear_session": (
        "Clears the session's messages in memory (files stay); a running turn is interrupted "
        "and waited for first. The next turn starts a new record.",
        (),
    ),
    "history.list": (
        "Saved records, newest first, with a real `total` and `next_cursor`.",
        ("`-32005` `store_timeout`: the store did not answer within 30 s",),
    ),
    "history.get": (
        "One saved record with its messages; precedence `last` > `rollout_path` > `id`.",
        (
            "`-32003` `history_not_found`: nothing matched (or none of the keys was given)",
            "`-32602` `path_outside_history`: `rollout_path` outside the history directory",
        ),
    ),
    "tools.list": (
        "The tools with their input schemas: the built-ins, or with `session_id` that "
        "session's (its MCP servers' tools included; they are started if needed).",
        ("`-32001` `session_not_found`",),
    ),
    "session.compact": (
        "Summarises an idle session's context now (`compaction.*` events, reason `manual`); "
        "the result carries the reference's `compression` keys.",
        (
            "`-32002` `session_busy`: a turn is running",
            "`-32006` `compaction_failed`: the summariser failed (the context is unchanged)",
        ),
    ),
    "model.list": (
        "The configured providers' models (each server's `/models`, cached a day under "
        "`$AGENTD_HOME/cache`, the built-in catalogue as fallback) and the current selection.",
        ("`-32004` `provider_unavailable`: `provider` is not configured",),
    ),
    "model.select": (
        "Selects a provider, model and thinking level daemon-wide, or for one session with "
        "`session_id`; `compress_immediately` also compacts that session. Emits `state.changed` "
        "`model_selected`.",
        (
            "`-32602` `unknown_model`: the provider does not list that model",
            "`-32004` `provider_unavailable`: the provider is not configured",
        ),
    ),
    "auth.status": ("Which providers are configured and whether keys are set.", ()),
    CANCEL_NOTIFICATION: (
        "Client notification: cancels the in-flight request `id`, which is answered `-32800`.",
        (),
    ),
}

#: When each event fires.
EVENT_WHEN: dict[str, str] = {
    "session.status": "the session's status label changes: `preparing...`, `thinking...`, "
    "`drafting response...`, `interrupting...`, ... and `ready` (`pending: false`) after each "
    "turn's end",
    "session.message.appended": "a message joins the transcript: the prompt, each model "
    "round's text (one assistant message per round), system notes",
    "session.stream.chunk": "a piece of the answer or of the reasoning streams in; chunks of one "
    "turn may be merged when the client reads slowly",
    "session.tool.call.started": "a tool call starts (after its approval, under `ask`)",
    "session.tool.call.completed": "a tool call ends, with its result or error",
    "session.tool.results": "every call of a tool round has ended, before the next model request",
    "session.usage": "after each model request, with its token counts",
    "session.context.estimate": "the context changed: after the prompt, a tool round, the answer",
    "session.retry": "before each wait of a retried model request",
    "session.completed": "a turn ended normally (exactly one terminal event per turn)",
    "session.interrupted": "a turn ended by `session.interrupt`, shutdown or any cancellation",
    "session.error": "a turn failed (`kind`: auth, rate_limited, context_overflow, upstream, "
    "network, timeout, invalid_request, storage)",
    "session.queue.changed": "the session's queue changed (a prompt queued, started, removed)",
    "state.changed": "the daemon's state changed: a session created, a model selected, "
    "shutdown, a signal (`reason`)",
    "compaction.started": "a compaction of the context starts (watermark, provider switch, "
    "overflow, `session.compact`, `model.select` with `compress_immediately`)",
    "compaction.anchor_selected": "after the summary (the reference's bookkeeping event)",
    "compaction.summary_merged": "after the summary (the reference's bookkeeping event)",
    "compaction.completed": "the context now starts from the summary",
    "compaction.failed": "the summariser failed; the context is unchanged",
    "session.mcp.status": "an MCP server of the session is starting, ready or failed",
}

_JSON_NAMES: dict[Any, str] = {
    str: "string",
    int: "integer",
    float: "number",
    bool: "boolean",
    type(None): "null",
    Any: "any",
    dict: "object",
    list: "array",
}


def _is_typeddict(tp: Any) -> bool:
    return isinstance(tp, type) and typing.is_typeddict(tp)


def type_text(tp: Any, found: dict[str, type]) -> str:
    """A JSON-flavoured name for ``tp``; ``TypedDict``s met on the way are collected."""
    origin = get_origin(tp)
    if origin in (NotRequired, Required):
        return type_text(get_args(tp)[0], found)
    if _is_typeddict(tp):
        found.setdefault(tp.__name__, tp)
        return f"`{tp.__name__}`"
    if origin is Literal:
        return " \\| ".join(f'`"{value}"`' for value in get_args(tp))
    if origin in (types.UnionType, typing.Union):
        return " \\| ".join(type_text(arg, found) for arg in get_args(tp))
    if origin is list:
        (item,) = get_args(tp) or (Any,)
        return f"{type_text(item, found)}[]"
    if origin is dict:
        return "object"
    return _JSON_NAMES.get(tp, getattr(tp, "__name__", str(tp)))


def params_table(cls: type, found: dict[str, type]) -> str:
    if not attrs.has(cls) or not attrs.fields(cls):
        return "Params: none (ignored if given)."
    hints = get_type_hints(cls)
    rows = ["| param | type | default |", "|---|---|---|"]
    for field in attrs.fields(cls):
        wire = field.metadata.get("wire", field.name)
        default = "required" if field.default is attrs.NOTHING else f"`{_json(field.default)}`"
        rows.append(f"| `{wire}` | {type_text(hints[field.name], found)} | {default} |")
    return f"Params (`{cls.__name__}`):\n\n" + "\n".join(rows)


def keys_table(td: type, found: dict[str, type], label: str | None) -> str:
    hints = get_type_hints(td, include_extras=True)
    rows = ["| key | type |", "|---|---|"]
    for key, tp in hints.items():
        mark = " (optional)" if get_origin(tp) is NotRequired else ""
        rows.append(f"| `{key}`{mark} | {type_text(tp, found)} |")
    table = "\n".join(rows)
    return table if label is None else f"{label} (`{td.__name__}`):\n\n{table}"


def _json(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    return repr(value)


def render_methods(found: dict[str, type]) -> str:
    out = [COMMON_ERRORS]
    for name, params, result in method_rows():
        spec = BY_NAME.get(name)
        kind = "notification" if spec is None or spec.kind == "notification" else "request"
        what, errors = METHOD_NOTES[name]
        heading = f"### `{name}`\n\n{kind.capitalize()}. {what}"
        out.append(f"{heading}\n\n{params_table(params, found)}")
        if kind != "request":
            continue
        out.append("Result: `null`." if result is None else keys_table(result, found, "Result"))
        has_session = attrs.has(params) and "session_id" in attrs.fields_dict(params)
        own = ((SESSION_NOT_FOUND,) if has_session else ()) + errors
        out.append("Errors: " + ("; ".join(own) + "." if own else "only the common ones."))
    return "\n\n".join(out)


def render_events(found: dict[str, type]) -> str:
    out = []
    for name, payload in EVENTS.items():
        out.append(
            f"### `{name}`\n\nFires when {EVENT_WHEN[name]}.\n\n"
            + keys_table(payload, found, "Payload")
        )
    return "\n\n".join(out)


def render_types(found: dict[str, type]) -> str:
    """Every nested ``TypedDict`` met in the tables above (and those met inside them)."""
    done: dict[str, str] = {}
    while len(done) < len(found):
        for name, td in sorted(found.items()):
            if name not in done:
                done[name] = f"#### `{name}`\n\n" + keys_table(td, found, None)
    return "\n\n".join(text for _, text in sorted(done.items()))


def sections() -> dict[str, str]:
    found: dict[str, type] = {}
    methods = render_methods(found)
    events = render_events(found)
    return {"methods": methods, "events": events, "types": render_types(found)}


_REGION = re.compile(
    r"(<!-- BEGIN GENERATED: (?P<name>\w+) -->\n)(?:.*?\n)?(<!-- END GENERATED: (?P=name) -->)",
    re.DOTALL,
)


def render_doc(text: str) -> str:
    """``text`` with every generated region replaced by its current rendering."""
    rendered = sections()

    def replace(match: re.Match[str]) -> str:
        return match.group(1) + rendered[match.group("name")] + "\n" + match.group(3)

    return _REGION.sub(replace, text)


def main(argv: list[str]) -> int:
    current = DOC.read_text(encoding="utf-8")
    fresh = render_doc(current)
    if "--check" in argv:
        if fresh != current:
            print("docs/protocol.md is stale: run python -m agentd.docgen", file=sys.stderr)
            return 1
        return 0
    DOC.write_text(fresh, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
