"""The ACP front door next to the native one: the figures ``docs/performance.md`` quotes.

(a) **start → ``initialize`` answered**: ``agentd acp`` and ``agentd serve --framing ndjson``
spawned alike, one ``initialize`` line written at once, time to its answer (median of N).
(b) **prompt → first chunk**: on one warm process each, the time from writing the prompt
(``session/prompt`` / ``session.send``, scripted ``echo``) to the first streamed piece
(``agent_message_chunk`` / ``session.stream.chunk``), median over N prompts.

Prints figures only; nothing here is a test. ``python bench/acp.py [--runs N]``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

INITIALIZE = b'{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":1}}\n'


def _spawn(args: list[str], home: Path) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY")}
    env["AGENTD_HOME"] = str(home)
    return subprocess.Popen(
        [sys.executable, "-m", "agentd", *args],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        env=env,
    )


def _read_until(out: IO[bytes], done: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
    while True:
        line = out.readline()
        if not line:
            raise RuntimeError("agentd closed its stdout")
        message: dict[str, Any] = json.loads(line)
        if done(message):
            return message


def start_to_initialize(args: list[str], home: Path, runs: int) -> list[float]:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        process = _spawn(args, home)
        assert process.stdin is not None and process.stdout is not None
        process.stdin.write(INITIALIZE)
        process.stdin.flush()
        _read_until(process.stdout, lambda m: m.get("id") == 1)
        times.append((time.perf_counter() - started) * 1000)
        process.stdin.close()
        process.wait(timeout=10)
    return times


class Lean:
    """A minimal NDJSON client over a process's pipes."""

    def __init__(self, process: subprocess.Popen[bytes]) -> None:
        assert process.stdin is not None and process.stdout is not None
        self.process, self.stdin, self.stdout = process, process.stdin, process.stdout
        self.next_id = 1

    def write(self, method: str, params: Any) -> int:
        self.next_id += 1
        line = {"jsonrpc": "2.0", "id": self.next_id, "method": method, "params": params}
        self.stdin.write(json.dumps(line).encode() + b"\n")
        self.stdin.flush()
        return self.next_id

    def call(self, method: str, params: Any) -> Any:
        request_id = self.write(method, params)
        return _read_until(self.stdout, lambda m: m.get("id") == request_id)["result"]

    def close(self) -> None:
        self.stdin.close()
        self.process.wait(timeout=10)


def acp_first_chunks(home: Path, workdir: Path, runs: int) -> list[float]:
    client = Lean(_spawn(["acp"], home))
    client.call("initialize", {"protocolVersion": 1})
    session = client.call("session/new", {"cwd": str(workdir), "mcpServers": []})["sessionId"]
    prompt = {"sessionId": session, "prompt": [{"type": "text", "text": "hi script:echo"}]}
    client.call("session/prompt", prompt)  # warm-up
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        request_id = client.write("session/prompt", prompt)
        _read_until(
            client.stdout,
            lambda m: (
                m.get("method") == "session/update"
                and m["params"]["update"]["sessionUpdate"] == "agent_message_chunk"
            ),
        )
        times.append((time.perf_counter() - started) * 1000)
        _read_until(client.stdout, lambda m, wanted=request_id: m.get("id") == wanted)
    client.close()
    return times


def native_first_chunks(home: Path, workdir: Path, runs: int) -> list[float]:
    client = Lean(_spawn(["serve", "--framing", "ndjson"], home))
    session = client.call("session.create", {"model": "echo", "cwd": str(workdir)})["session_id"]

    def is_event(type_: str) -> Callable[[dict[str, Any]], bool]:
        return lambda m: m.get("method") == "event" and m["params"]["type"] == type_

    client.write("session.send", {"session_id": session, "text": "hi"})  # warm-up
    _read_until(client.stdout, is_event("session.completed"))
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        client.write("session.send", {"session_id": session, "text": "hi"})
        _read_until(client.stdout, is_event("session.stream.chunk"))
        times.append((time.perf_counter() - started) * 1000)
        _read_until(client.stdout, is_event("session.completed"))
    client.close()
    return times


def _summary(times: list[float]) -> str:
    return f"{statistics.median(times):.1f} ms ({min(times):.1f}–{max(times):.1f})"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        home, workdir = Path(tmp) / "home", Path(tmp)
        rows = {
            "(a) start → initialize answered, agentd acp": start_to_initialize(
                ["acp"], home, args.runs
            ),
            "(a) start → initialize answered, agentd serve": start_to_initialize(
                ["serve", "--framing", "ndjson"], home, args.runs
            ),
            "(b) prompt → first chunk, ACP session/prompt": acp_first_chunks(
                home, workdir, args.runs
            ),
            "(b) prompt → first chunk, native session.send": native_first_chunks(
                home, workdir, args.runs
            ),
        }
    for label, times in rows.items():
        print(f"{label:48} {_summary(times)}  (median, min–max)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
