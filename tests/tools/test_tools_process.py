"""run_process: groups, timeouts, caps, grandchildren holding pipes, cancellation, reaping."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

import pytest

from agentd.tools.process import group_alive, run_process


async def wait_until_gone(pgid: int) -> None:
    """Killed processes linger as zombies until init reaps them; wait for that (bounded)."""
    async with asyncio.timeout(10):
        while group_alive(pgid):
            await asyncio.sleep(0.05)
    with pytest.raises(ProcessLookupError):
        os.killpg(pgid, 0)


async def wait_for_file(path: Path) -> None:
    async with asyncio.timeout(10):
        while not path.exists():
            await asyncio.sleep(0.02)


def assert_reaped(pid: int) -> None:
    with pytest.raises(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)


async def test_runs_in_its_own_group(tmp_path: Path) -> None:
    pids: list[int] = []
    result = await run_process(
        [sys.executable, "-c", "import os; print(os.getpgid(0))"],
        cwd=tmp_path,
        timeout_s=10,
        on_start=pids.append,
    )
    assert result.exit_code == 0
    assert int(result.stdout) == pids[0] != os.getpgid(0)
    assert_reaped(pids[0])


async def test_stdin_is_empty(tmp_path: Path) -> None:
    result = await run_process(["cat"], cwd=tmp_path, timeout_s=10)
    assert (result.exit_code, result.stdout) == (0, "")


async def test_killed_by_a_signal(tmp_path: Path) -> None:
    result = await run_process(["sh", "-c", "kill -KILL $$"], cwd=tmp_path, timeout_s=10)
    assert (result.exit_code, result.signal, result.timed_out) == (None, "SIGKILL", False)


async def test_missing_program_raises_oserror(tmp_path: Path) -> None:
    with pytest.raises(OSError):
        await run_process(["/nonexistent/program"], cwd=tmp_path, timeout_s=10)


async def test_output_cap_per_stream(tmp_path: Path) -> None:
    command = "head -c 400000 /dev/zero | tr '\\0' a; echo err >&2"
    result = await run_process(["sh", "-c", command], cwd=tmp_path, timeout_s=30, output_cap=1000)
    assert result.stdout == "a" * 1000
    assert (result.truncated_stdout, result.truncated_stderr) == (True, False)
    assert result.stderr == "err\n"


async def test_multibyte_text_is_decoded_whole(tmp_path: Path) -> None:
    result = await run_process(["printf", "h\u00e9llo \u2603"], cwd=tmp_path, timeout_s=10)
    assert result.stdout == "h\u00e9llo \u2603"


async def test_does_not_wait_for_a_grandchild_holding_the_pipe(tmp_path: Path) -> None:
    pids: list[int] = []
    try:
        result = await asyncio.wait_for(
            run_process(
                ["sh", "-c", "sleep 30 & echo done"],
                cwd=tmp_path,
                timeout_s=60,
                on_start=pids.append,
            ),
            10,
        )
        assert (result.exit_code, result.stdout) == (0, "done\n")
        assert_reaped(pids[0])
    finally:
        if pids:
            os.killpg(pids[0], signal.SIGKILL)
            await wait_until_gone(pids[0])


async def test_timeout_terminates_the_group(tmp_path: Path) -> None:
    pids: list[int] = []
    result = await asyncio.wait_for(
        run_process(
            ["sh", "-c", "sleep 30 & sleep 30"], cwd=tmp_path, timeout_s=0.5, on_start=pids.append
        ),
        10,
    )
    assert result.timed_out
    assert (result.exit_code, result.signal) == (None, "SIGTERM")
    assert_reaped(pids[0])
    await wait_until_gone(pids[0])


async def test_timeout_kills_a_group_that_ignores_sigterm(tmp_path: Path) -> None:
    pids: list[int] = []
    result = await asyncio.wait_for(
        run_process(
            ["bash", "-c", "trap '' TERM; sleep 30 & sleep 30"],
            cwd=tmp_path,
            timeout_s=0.5,
            kill_grace_s=0.5,
            on_start=pids.append,
        ),
        10,
    )
    assert result.timed_out
    assert result.signal == "SIGKILL"
    await wait_until_gone(pids[0])


async def test_cancellation_kills_the_whole_group(tmp_path: Path) -> None:
    pids: list[int] = []
    marker = tmp_path / "started"
    task = asyncio.create_task(
        run_process(
            ["sh", "-c", f"sleep 30 & touch {marker}; sleep 30"],
            cwd=tmp_path,
            timeout_s=60,
            on_start=pids.append,
        )
    )
    await wait_for_file(marker)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(task, 10)
    assert_reaped(pids[0])
    await wait_until_gone(pids[0])


async def test_failing_on_start_callback_leaves_nothing_running(tmp_path: Path) -> None:
    pids: list[int] = []

    def on_start(pid: int) -> None:
        pids.append(pid)
        raise RuntimeError("callback failed")

    with pytest.raises(RuntimeError, match="callback failed"):
        await run_process(["sleep", "30"], cwd=tmp_path, timeout_s=60, on_start=on_start)
    assert_reaped(pids[0])
    await wait_until_gone(pids[0])
