"""The bash tool end to end through the registry: real processes in a temporary workspace."""

from __future__ import annotations

import asyncio
import os
import signal
from pathlib import Path
from typing import Any

import pytest

from agentd.tools.base import ToolContext, ToolResult
from agentd.tools.bash import BashTool
from agentd.tools.process import group_alive
from agentd.tools.registry import ToolRegistry

OUTPUT_KEYS = {
    "status",
    "command",
    "exit_code",
    "signal",
    "timed_out",
    "aborted",
    "duration_ms",
    "stdout",
    "stderr",
    "truncated_stdout",
    "truncated_stderr",
}


async def bash(registry: ToolRegistry, context: ToolContext, **arguments: Any) -> ToolResult:
    return await asyncio.wait_for(registry.run("bash", arguments, context), 30)


async def test_success(registry: ToolRegistry, context: ToolContext) -> None:
    result = await bash(registry, context, command="echo hello")
    assert result.ok
    assert result.error is None
    assert set(result.output) >= OUTPUT_KEYS
    output = result.output
    assert (output["status"], output["exit_code"], output["signal"]) == ("ok", 0, None)
    assert (output["stdout"], output["stderr"]) == ("hello\n", "")
    assert (output["timed_out"], output["aborted"]) == (False, False)
    assert output["command"] == "echo hello"
    assert isinstance(output["duration_ms"], int)


async def test_runs_in_the_workspace(
    registry: ToolRegistry, context: ToolContext, workspace: Path
) -> None:
    result = await bash(registry, context, command="pwd")
    assert result.output["stdout"] == f"{workspace.resolve()}\n"
    assert result.output["cwd"] == str(workspace.resolve())


async def test_nonzero_exit_and_stderr(registry: ToolRegistry, context: ToolContext) -> None:
    result = await bash(registry, context, command="echo oops >&2; exit 3")
    assert not result.ok
    assert result.error == "process failed (exit code 3)"
    assert result.output["status"] == "error"
    assert result.output["exit_code"] == 3
    assert result.output["stderr"] == "oops\n"


async def test_env_is_added(registry: ToolRegistry, context: ToolContext) -> None:
    result = await bash(registry, context, command='echo "$GREETING $HOME"', env={"GREETING": "hi"})
    assert result.output["stdout"] == f"hi {os.environ.get('HOME', '')}\n"


async def test_env_values_must_be_strings(registry: ToolRegistry, context: ToolContext) -> None:
    result = await bash(registry, context, command="true", env={"N": 1})
    assert result.output == {
        "status": "invalid_input",
        "message": "env.N: expected string, got integer",
    }


async def test_cwd_inside(registry: ToolRegistry, context: ToolContext, workspace: Path) -> None:
    (workspace / "sub").mkdir()
    result = await bash(registry, context, command="pwd", cwd="sub")
    assert result.output["stdout"] == f"{(workspace / 'sub').resolve()}\n"


@pytest.mark.parametrize("cwd", ["..", "/", "escape"])
async def test_cwd_outside_is_refused(
    registry: ToolRegistry, context: ToolContext, workspace: Path, tmp_path: Path, cwd: str
) -> None:
    (workspace / "escape").symlink_to(tmp_path)
    result = await bash(registry, context, command="touch pwned", cwd=cwd)
    assert result.output["status"] == "invalid_input"
    assert "outside the workspace" in result.output["message"]
    assert not (tmp_path / "pwned").exists()


async def test_cwd_must_be_a_directory(
    registry: ToolRegistry, context: ToolContext, workspace: Path
) -> None:
    (workspace / "file").touch()
    result = await bash(registry, context, command="true", cwd="file")
    assert result.output == {"status": "invalid_input", "message": "cwd is not a directory: file"}


async def test_empty_command(registry: ToolRegistry, context: ToolContext) -> None:
    result = await bash(registry, context, command="  ")
    assert result.output == {"status": "invalid_input", "message": "command must not be empty"}


async def test_timeout(registry: ToolRegistry, context: ToolContext) -> None:
    result = await bash(registry, context, command="sleep 30", timeout_seconds=1)
    assert not result.ok
    assert result.output["timed_out"] is True
    assert result.output["exit_code"] is None
    assert result.output["signal"] == "SIGTERM"
    assert result.error == "process timed out (no exit code)"


async def test_context_ceiling_bounds_the_timeout(workspace: Path) -> None:
    registry = ToolRegistry()
    registry.register(BashTool())
    context = ToolContext(workspace_root=workspace, max_timeout_s=0.5)
    result = await bash(registry, context, command="sleep 30")
    assert result.output["timed_out"] is True


async def test_output_cap(registry: ToolRegistry, context: ToolContext) -> None:
    result = await bash(registry, context, command="head -c 400000 /dev/zero | tr '\\0' a")
    assert result.ok
    assert len(result.output["stdout"]) == 300_000
    assert result.output["truncated_stdout"] is True
    assert result.output["truncated_stderr"] is False


async def test_background_grandchild_does_not_hang_the_call(
    registry: ToolRegistry, context: ToolContext, workspace: Path
) -> None:
    result = await bash(registry, context, command="echo $$ > pgid; sleep 30 & echo done")
    pgid = int((workspace / "pgid").read_text())
    try:
        assert result.ok
        assert result.output["stdout"] == "done\n"
    finally:
        os.killpg(pgid, signal.SIGKILL)


async def test_interrupt_kills_the_process_group(workspace: Path) -> None:
    started: list[int] = []
    registry = ToolRegistry()
    registry.register(BashTool(on_start=started.append))
    context = ToolContext(workspace_root=workspace, call_id="call_x")
    marker = workspace / "started"
    task = asyncio.create_task(
        registry.run("bash", {"command": "sleep 30 & touch started; sleep 30"}, context)
    )
    async with asyncio.timeout(10):
        while not marker.exists():
            await asyncio.sleep(0.02)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(task, 10)
    [pgid] = started
    async with asyncio.timeout(10):  # zombies linger until init reaps them
        while group_alive(pgid):
            await asyncio.sleep(0.05)
    with pytest.raises(ProcessLookupError):
        os.killpg(pgid, 0)
