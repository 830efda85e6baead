"""``bash``: run a shell command in the session's workspace, in its own process group.

One foreground command per call, with the reference's input and output shapes; the reference's
persistent shell state, background sessions and PTY mode are not implemented. Process handling
(group kill, timeout, output cap, not hanging on grandchildren) lives in ``process.py``. A
context with a ``run_command`` port (an editor's terminal) runs the command there instead; its
output then comes as one merged stream.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Mapping
from typing import Any

from agentd.tools.base import Command, ToolContext, ToolResult
from agentd.tools.errors import InvalidToolInput, ToolError
from agentd.tools.process import ProcessResult, run_process
from agentd.tools.workspace import WorkspaceError, resolve_in_workspace

DEFAULT_TIMEOUT_S = 120.0
MIN_TIMEOUT_S = 1.0
MAX_TIMEOUT_S = 1200.0


def find_shell() -> str:
    """bash if installed, else the POSIX sh."""
    return shutil.which("bash") or shutil.which("sh") or "/bin/sh"


def clamp_timeout(requested: float | None, ceiling: float) -> float:
    """The reference's 1-1200 s range, further bounded by the context's ceiling."""
    timeout = DEFAULT_TIMEOUT_S if requested is None else requested
    return min(max(timeout, MIN_TIMEOUT_S), MAX_TIMEOUT_S, ceiling)


def error_text(result: ProcessResult) -> str | None:
    """``process failed (exit code 2)``, ``process timed out (no exit code)``; None on success."""
    if result.exit_code == 0 and not result.timed_out:
        return None
    what = "timed out" if result.timed_out else "failed"
    code = "no exit code" if result.exit_code is None else f"exit code {result.exit_code}"
    return f"process {what} ({code})"


#: agentd's own credentials: never handed to commands the model runs (their output is history).
SECRET_ENV_VARS = frozenset({"OPENAI_API_KEY", "OPENROUTER_API_KEY", "ANTIGRAVITY_TOKEN"})


def child_environment() -> dict[str, str]:
    """The daemon's environment without agentd's own secrets."""
    return {k: v for k, v in os.environ.items() if k not in SECRET_ENV_VARS}


class BashTool:
    """Runs a command with ``bash -c`` (``sh -c`` without bash) in the workspace."""

    name = "bash"
    description = (
        "Runs a shell command (bash -c) in the workspace and returns its exit code, stdout and "
        "stderr (each capped at 300,000 characters). Stdin is empty; the command and everything "
        "it starts are killed on timeout or interrupt."
    )
    input_schema: Mapping[str, Any] = {
        "type": "object",
        "properties": {
            "command": {"type": "string", "description": "The shell command to run."},
            "timeout_seconds": {
                "type": "number",
                "description": "Seconds before the command is killed (default 120, 1 to 1200).",
            },
            "cwd": {
                "type": "string",
                "description": "Working directory inside the workspace (default: its root).",
            },
            "env": {
                "type": "object",
                "additionalProperties": {"type": "string"},
                "description": "Extra environment variables for the command.",
            },
        },
        "required": ["command"],
        "additionalProperties": False,
    }
    mutates = True

    def __init__(self, *, on_start: Callable[[int], None] | None = None) -> None:
        #: Called with the pid (= process-group id) of each started command.
        self._on_start = on_start

    async def run(self, arguments: Mapping[str, Any], context: ToolContext) -> ToolResult:
        command: str = arguments["command"]
        if not command.strip():
            raise InvalidToolInput("command must not be empty")
        timeout_s = clamp_timeout(arguments.get("timeout_seconds"), context.max_timeout_s)
        try:
            cwd = resolve_in_workspace(context.workspace_root, arguments.get("cwd", "."))
        except WorkspaceError as exc:
            raise InvalidToolInput(exc.message) from exc
        if not cwd.is_dir():
            raise InvalidToolInput(f"cwd is not a directory: {arguments.get('cwd')}")
        shell = find_shell()
        terminal_id: str | None = None
        result: ProcessResult | None = None
        if context.run_command is not None:  # the client's terminal, when it offers one
            extra = dict(arguments.get("env", {}))
            asked = Command((shell, "-c", command), cwd, extra, timeout_s, context.call_id)
            outcome = await context.run_command(asked)
            if outcome is not None:
                result, terminal_id = outcome.result, outcome.terminal_id
        if result is None:
            env = {**child_environment(), **arguments.get("env", {})}
            try:
                result = await run_process(
                    [shell, "-c", command],
                    cwd=cwd,
                    env=env,
                    timeout_s=timeout_s,
                    on_start=self._on_start,
                )
            except OSError as exc:
                raise ToolError(f"failed to start {shell}: {exc}") from exc
        error = error_text(result)
        output = {
            "status": "ok" if error is None else "error",
            "shell": shell,
            "command": command,
            "cwd": str(cwd),
            "exit_code": result.exit_code,
            "signal": result.signal,
            "timed_out": result.timed_out,
            "aborted": False,
            "duration_ms": result.duration_ms,
            "stdout": result.stdout,
            "stderr": result.stderr,
            "truncated_stdout": result.truncated_stdout,
            "truncated_stderr": result.truncated_stderr,
        }
        if terminal_id is not None:  # stdout and stderr came merged, from the client's terminal
            output["terminal_id"] = terminal_id
        return ToolResult(ok=error is None, output=output, error=error)
