"""A pseudo-terminal driving ``agentd`` as a person would: keys in, screen text out.

``pty.fork`` gives the child a controlling terminal, so line editing, Ctrl-C (the terminal
sends SIGINT to the foreground process group) and /dev/tty prompts behave as in a real shell.
Every wait is bounded.
"""

from __future__ import annotations

import contextlib
import os
import pty
import re
import select
import signal
import sys
import time
from collections.abc import Mapping, Sequence

ANSI = re.compile(rb"\x1b\[[0-9;?]*[A-Za-z]|\r")


class Terminal:
    def __init__(self, args: Sequence[str], env: Mapping[str, str], cwd: str | None = None) -> None:
        argv = [sys.executable, "-m", "agentd", *args]
        pid, fd = pty.fork()
        if pid == 0:  # pragma: no cover - the child
            if cwd:
                os.chdir(cwd)
            os.execve(sys.executable, argv, dict(env))
        self.pid, self.fd = pid, fd
        self.output = b""
        self.returncode: int | None = None

    @property
    def text(self) -> str:
        """Everything shown so far, without colour codes and carriage returns."""
        return ANSI.sub(b"", self.output).decode(errors="replace")

    def send(self, data: bytes) -> None:
        os.write(self.fd, data)

    def _read(self, timeout: float) -> bool:
        ready, _, _ = select.select([self.fd], [], [], timeout)
        if not ready:
            return True
        try:
            data = os.read(self.fd, 65536)
        except OSError:  # EIO: the child closed the terminal
            return False
        if not data:
            return False
        self.output += data
        return True

    def expect(self, needle: str, timeout: float = 30.0, start: int = 0) -> None:
        deadline = time.monotonic() + timeout
        while needle not in self.text[start:]:
            if time.monotonic() > deadline:
                raise AssertionError(f"{needle!r} did not appear; screen:\n{self.text}")
            if not self._read(0.1):
                raise AssertionError(f"exited before {needle!r} appeared; screen:\n{self.text}")

    def wait(self, timeout: float = 30.0) -> int:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self._read(0.05)
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                while self._read(0.05) and select.select([self.fd], [], [], 0)[0]:
                    pass
                self.returncode = os.waitstatus_to_exitcode(status)
                return self.returncode
        raise AssertionError(f"agentd did not exit; screen:\n{self.text}")

    def close(self) -> None:
        if self.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, signal.SIGKILL)
            with contextlib.suppress(ChildProcessError):
                os.waitpid(self.pid, 0)
        os.close(self.fd)
