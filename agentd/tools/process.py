"""Running a command in its own process group, with a timeout, an output cap and clean kills.

Commands from the model start background jobs, ignore SIGTERM and leave grandchildren holding our
pipes. So the command gets its own session (and process group) and everything is signalled as a
group; reading stops shortly after the main process exits instead of waiting for EOF; an interrupt
(task cancellation) SIGKILLs the whole group at once and reaps the child before re-raising.
"""

from __future__ import annotations

import asyncio
import codecs
import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import attrs

from agentd.tools import lifeline

#: Characters kept per stream (the reference's cap).
OUTPUT_CAP_CHARS = 300_000
#: Seconds between SIGTERM and SIGKILL on timeout.
KILL_GRACE_S = 1.5
#: Seconds to keep reading after the main process exited (grandchildren may hold the pipes open).
SETTLE_S = 0.25
_POLL_S = 0.05


@attrs.frozen
class ProcessResult:
    """How a command ended and what it printed (decoded as UTF-8, invalid bytes replaced)."""

    exit_code: int | None
    #: Name of the signal that killed the main process (``"SIGTERM"``), if any.
    signal: str | None
    timed_out: bool
    duration_ms: int
    stdout: str
    stderr: str
    truncated_stdout: bool
    truncated_stderr: bool


class _Capture(asyncio.Protocol):
    """Collects one pipe's text up to ``cap`` characters, draining (and dropping) the rest."""

    def __init__(self, cap: int) -> None:
        self._cap = cap
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._parts: list[str] = []
        self._size = 0
        self.truncated = False
        self.closed = asyncio.Event()

    def data_received(self, data: bytes) -> None:
        self._add(self._decoder.decode(data))

    def connection_lost(self, exc: Exception | None) -> None:
        self._add(self._decoder.decode(b"", final=True))
        self.closed.set()

    def _add(self, text: str) -> None:
        if not text:
            return
        room = self._cap - self._size
        if len(text) > room:
            text = text[:room]
            self.truncated = True
        if text:
            self._parts.append(text)
            self._size += len(text)

    def text(self) -> str:
        return "".join(self._parts)


def _signal_group(pgid: int, sig: signal.Signals) -> None:
    # Gone already (ProcessLookupError) is the goal; EPERM would mean the id was reused.
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


def group_alive(pgid: int) -> bool:
    """True while any process of group ``pgid`` exists (zombies included)."""
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _signal_name(returncode: int | None) -> str | None:
    if returncode is None or returncode >= 0:
        return None
    try:
        return signal.Signals(-returncode).name
    except ValueError:
        return f"SIG{-returncode}"


async def _open_capture(
    loop: asyncio.AbstractEventLoop,
    capture: _Capture,
    transports: list[asyncio.BaseTransport],
) -> int:
    """Connect a new pipe's read end to ``capture``; return the write end for the child."""
    read_fd, write_fd = os.pipe()
    try:
        pipe = os.fdopen(read_fd, "rb", buffering=0)
    except BaseException:
        os.close(read_fd)
        os.close(write_fd)
        raise
    try:
        transport, _ = await loop.connect_read_pipe(lambda: capture, pipe)
    except BaseException:
        pipe.close()
        os.close(write_fd)
        raise
    transports.append(transport)
    return write_fd


async def _spawn(
    argv: Sequence[str],
    cwd: Path,
    env: Mapping[str, str] | None,
    captures: tuple[_Capture, _Capture],
    transports: list[asyncio.BaseTransport],
) -> asyncio.subprocess.Process:
    loop = asyncio.get_running_loop()
    write_fds: list[int] = []
    try:
        for capture in captures:
            write_fds.append(await _open_capture(loop, capture, transports))
        with lifeline.spawning():
            proc = await asyncio.create_subprocess_exec(
                *argv,
                stdin=subprocess.DEVNULL,
                stdout=write_fds[0],
                stderr=write_fds[1],
                cwd=cwd,
                env=None if env is None else dict(env),
                start_new_session=True,
            )
            lifeline.LIVE_LEADERS.add(proc.pid)
        lifeline.SENTINEL.add(proc.pid)
        return proc
    finally:
        # The child holds its own copies; ours must go or EOF never comes.
        for fd in write_fds:
            os.close(fd)


async def _terminate_group(proc: asyncio.subprocess.Process, grace_s: float) -> None:
    """SIGTERM the group, give it ``grace_s`` to go, then SIGKILL whatever is left."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + grace_s
    _signal_group(proc.pid, signal.SIGTERM)
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(proc.wait(), grace_s)
    while group_alive(proc.pid) and loop.time() < deadline:
        await asyncio.sleep(_POLL_S)
    _signal_group(proc.pid, signal.SIGKILL)
    await proc.wait()


def _end_group(pgid: int) -> None:
    """Whatever is left of the tool's group dies now; adopted orphans too (see ``lifeline``)."""
    if group_alive(pgid):
        _signal_group(pgid, signal.SIGKILL)
    lifeline.LIVE_LEADERS.discard(pgid)
    lifeline.SENTINEL.remove(pgid)
    lifeline.reap_orphans()


async def _settle(captures: tuple[_Capture, _Capture], settle_s: float) -> None:
    """Wait for both pipes to close, but at most ``settle_s`` (grandchildren may keep them open)."""
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(settle_s):
            for capture in captures:
                await capture.closed.wait()


async def run_process(
    argv: Sequence[str],
    *,
    cwd: Path,
    timeout_s: float,
    env: Mapping[str, str] | None = None,
    output_cap: int = OUTPUT_CAP_CHARS,
    kill_grace_s: float = KILL_GRACE_S,
    settle_s: float = SETTLE_S,
    on_start: Callable[[int], None] | None = None,
) -> ProcessResult:
    """Run ``argv`` in a new session with stdin from /dev/null and return how it ended.

    ``on_start`` receives the child's pid, which is also its process-group id. Raises ``OSError``
    when the command cannot be started. On cancellation the whole group is SIGKILLed and the child
    reaped before ``CancelledError`` propagates.
    """
    captures = (_Capture(output_cap), _Capture(output_cap))
    transports: list[asyncio.BaseTransport] = []
    started = time.monotonic()
    try:
        proc = await _spawn(argv, cwd, env, captures, transports)
        try:
            if on_start is not None:
                on_start(proc.pid)
            timed_out = False
            try:
                await asyncio.wait_for(proc.wait(), timeout_s)
            except TimeoutError:
                timed_out = True
                await _terminate_group(proc, kill_grace_s)
            await _settle(captures, settle_s)
        except BaseException:
            # Interrupt (or a failing callback): nothing of the command may outlive us.
            _signal_group(proc.pid, signal.SIGKILL)
            await proc.wait()
            _end_group(proc.pid)
            raise
        _end_group(proc.pid)  # a background job ``(sleep 300) &`` ends with its tool
    finally:
        for transport in transports:
            transport.close()
    return ProcessResult(
        exit_code=proc.returncode if proc.returncode is not None and proc.returncode >= 0 else None,
        signal=_signal_name(proc.returncode),
        timed_out=timed_out,
        duration_ms=int((time.monotonic() - started) * 1000),
        stdout=captures[0].text(),
        stderr=captures[1].text(),
        truncated_stdout=captures[0].truncated,
        truncated_stderr=captures[1].truncated,
    )
