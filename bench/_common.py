"""Shared helpers for agentd's benchmarks: a lean LSP client, /proc readers, tables, profiles.

Why a second client next to ``agentd.client.AgentdClient``: the throughput figures (tens of
thousands of messages per second) are close to what a general-purpose asyncio client can decode
(``LspDecoder`` + ``json.loads`` + a queue put per message). ``LeanDaemon`` reads with ``select`` +
``os.read``, cuts frames with ``bytes.find`` and parses no JSON while the clock runs: callers match
frames by byte prefixes or substrings and parse the kept bodies after the measurement. Where the
client is not the bottleneck (start-up, per-turn latency, session creation) the benches use
``AgentdClient`` as any Python harness would.

Everything here is bounded: every read and write takes a deadline, and closing kills a daemon that
does not exit in time. Nothing asserts a timing; the benches print figures and target verdicts.
"""

from __future__ import annotations

import importlib.util
import io
import itertools
import json
import math
import os
import platform
import pstats
import select
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

REPO = Path(__file__).resolve().parent.parent
READ_SIZE = 1 << 20
WRITE_SIZE = 1 << 16

#: Byte patterns of the daemon's compact JSON (``agentd.wire.dumps``: no spaces, keys in order).
COMPLETED = b'"type":"session.completed"'
CHUNK = b'"type":"session.stream.chunk"'
READY = b'"status_label":"ready"'


# -- framing ---------------------------------------------------------------------------------


def encode(message: Mapping[str, Any]) -> bytes:
    """One LSP frame, compact JSON (as agentd itself writes it)."""
    body = json.dumps(message, separators=(",", ":"), ensure_ascii=False).encode()
    return b"Content-Length: %d\r\n\r\n%b" % (len(body), body)


def response_prefix(request_id: int) -> bytes:
    """How agentd's response to ``request_id`` starts (it writes ``jsonrpc`` first, then ``id``)."""
    return b'{"jsonrpc":"2.0","id":%d,' % request_id


def starts_with(prefix: bytes) -> Callable[[bytes], bool]:
    """A ``read_until`` predicate: the body begins with ``prefix`` (e.g. a response's id)."""

    def check(body: bytes) -> bool:
        return body.startswith(prefix)

    return check


class FrameSplitter:
    """Cuts ``Content-Length`` frames out of a byte stream; bodies stay unparsed bytes.

    agentd always writes exactly ``Content-Length: N\\r\\n\\r\\n``, so no general header parser is
    needed (``agentd.wire.LspDecoder`` is the robust one).
    """

    _PREFIX = b"Content-Length: "

    def __init__(self) -> None:
        self._buf = bytearray()

    def feed(self, data: bytes) -> list[bytes]:
        buf = self._buf
        buf += data
        out: list[bytes] = []
        pos = 0
        size = len(buf)
        while True:
            end = buf.find(b"\r\n\r\n", pos)
            if end < 0:
                break
            if not buf.startswith(self._PREFIX, pos):
                raise RuntimeError(f"unexpected header from agentd: {bytes(buf[pos:end])!r}")
            start = end + 4
            stop = start + int(buf[pos + len(self._PREFIX) : end])
            if stop > size:
                break
            out.append(bytes(buf[start:stop]))
            pos = stop
        if pos:
            del buf[:pos]
        return out


# -- the lean client -------------------------------------------------------------------------


class LeanDaemon:
    """``python -m agentd serve`` on pipes, driven synchronously; see the module docstring."""

    def __init__(
        self,
        args: Sequence[str] = (),
        *,
        workdir: Path,
        profile_out: Path | None = None,
        home: Path | None = None,
        env: dict[str, str] | None = None,
        command: Sequence[str] | None = None,
    ) -> None:
        if command is None:  # else another server speaking LSP frames (the echo floors)
            command = [sys.executable]
            if profile_out is not None:
                command += ["-m", "cProfile", "-o", str(profile_out)]
            command += ["-m", "agentd", "serve", *args]
        # Closed in __exit__: the file outlives this constructor by design.
        self._stderr: IO[bytes] = tempfile.TemporaryFile()  # noqa: SIM115
        self.proc = subprocess.Popen(
            command,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            cwd=workdir,
            env=env if env is not None else daemon_env(workdir, home=home),
            bufsize=0,
        )
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self._in = self.proc.stdin.fileno()
        self._out = self.proc.stdout.fileno()
        os.set_blocking(self._in, False)
        os.set_blocking(self._out, False)
        self._splitter = FrameSplitter()
        self._ids = itertools.count(1)
        #: Bodies read but not consumed by a ``read_until`` yet, in arrival order.
        self.backlog: list[bytes] = []
        #: Bodies skipped by ``call`` (events that arrived while it waited for its response).
        self.unclaimed: list[bytes] = []

    @property
    def pid(self) -> int:
        return self.proc.pid

    def request(self, method: str, params: Any = None) -> tuple[int, bytes]:
        """A fresh request id and its encoded frame (not written yet)."""
        request_id = next(self._ids)
        message: dict[str, Any] = {"jsonrpc": "2.0", "id": request_id, "method": method}
        if params is not None:
            message["params"] = params
        return request_id, encode(message)

    def write(self, data: bytes, timeout: float = 30.0) -> None:
        """Write everything, reading stdout meanwhile so that neither side can block the other."""
        deadline = time.monotonic() + timeout
        view = memoryview(data)
        while view:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"agentd did not take {len(view)} more bytes in {timeout} s")
            readable, writable, _ = select.select([self._out], [self._in], [], remaining)
            if writable:
                try:
                    written = os.write(self._in, view[:WRITE_SIZE])
                except BlockingIOError:
                    written = 0
                view = view[written:]
            if readable:
                self._read_available()

    def _read_available(self) -> None:
        try:
            data = os.read(self._out, READ_SIZE)
        except BlockingIOError:
            return
        if not data:
            raise ConnectionError(f"agentd closed its output; stderr: {self.stderr_tail()}")
        self.backlog.extend(self._splitter.feed(data))

    def read_until(
        self, predicate: Callable[[bytes], bool], timeout: float = 30.0
    ) -> tuple[list[bytes], float]:
        """Bodies up to and including the first matching one, and when that one was read.

        The time is ``time.perf_counter()`` right after the ``os.read`` that completed the frame
        (or when the call began, for a frame that was already in the backlog).
        """
        deadline = time.monotonic() + timeout
        taken: list[bytes] = []
        stamp = time.perf_counter()
        while True:
            backlog = self.backlog
            for index, body in enumerate(backlog):
                if predicate(body):
                    taken.extend(backlog[: index + 1])
                    del backlog[: index + 1]
                    return taken, stamp
            taken.extend(backlog)
            backlog.clear()
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"no matching message from agentd within {timeout} s")
            readable, _, _ = select.select([self._out], [], [], remaining)
            if readable:
                self._read_available()
                stamp = time.perf_counter()

    def call(self, method: str, params: Any = None, timeout: float = 30.0) -> Any:
        """A request and its result (raises ``RuntimeError`` on an error response)."""
        request_id, data = self.request(method, params)
        self.write(data, timeout)
        prefix = response_prefix(request_id)
        bodies, _ = self.read_until(starts_with(prefix), timeout)
        self.unclaimed.extend(bodies[:-1])
        response = json.loads(bodies[-1])
        if "error" in response:
            raise RuntimeError(f"{method} failed: {response['error']}")
        return response["result"]

    def close(self, timeout: float = 10.0) -> int:
        """Close stdin, read stdout to its end, wait (bounded) for the exit; kill if needed."""
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.close()
        deadline = time.monotonic() + timeout
        while (remaining := deadline - time.monotonic()) > 0:
            readable, _, _ = select.select([self._out], [], [], remaining)
            if not readable:
                continue
            try:
                data = os.read(self._out, READ_SIZE)
            except BlockingIOError:
                continue
            if not data:
                break
        try:
            code = self.proc.wait(max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            self.proc.kill()
            code = self.proc.wait(5)
        self.proc.stdout.close()
        return code

    def stderr_tail(self, limit: int = 2000) -> str:
        self._stderr.seek(0)
        return self._stderr.read().decode(errors="replace")[-limit:]

    def __enter__(self) -> LeanDaemon:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.proc.poll() is None:
            self.close()
        self._stderr.close()


def warm_bytecode(workdir: Path) -> None:
    """Start a daemon once so that its modules are compiled into ``workdir``'s bytecode cache
    (a ``session.create`` makes it load what it may defer past its first answer)."""
    with LeanDaemon(workdir=workdir) as daemon:
        daemon.call("system.ping")
        daemon.call("session.create", {})
        daemon.close()


def daemon_env(
    workdir: Path, *, cached_bytecode: bool = True, home: Path | None = None
) -> dict[str, str]:
    """The environment for a benchmarked process: its own ``AGENTD_HOME`` (``workdir/home``
    unless ``home`` is given), quiet logging.

    ``cached_bytecode`` (the default) lets Python cache compiled modules, in a ``pycache`` tree
    under ``workdir`` (``PYTHONPYCACHEPREFIX``, so nothing is written into the checkout), the way
    an installed agentd runs. Without it the caller's environment decides; with
    ``PYTHONDONTWRITEBYTECODE=1`` and a checkout being edited, every start recompiles each changed
    module from source, which is a property of that environment, not of agentd.
    """
    env = dict(os.environ)
    env["AGENTD_HOME"] = str(home or workdir / "home")
    env.pop("AGENTD_LOG_LEVEL", None)
    env.pop("AGENTD_SCRIPTS_DIR", None)
    if cached_bytecode:
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env["PYTHONPYCACHEPREFIX"] = str(workdir / "pycache")
    return env


def timed_run(
    command: Sequence[str], *, env: Mapping[str, str], cwd: Path, timeout: float
) -> float:
    """Seconds from spawn to exit of ``command``, which must succeed; killed after ``timeout``.

    ``subprocess.run(timeout=...)`` would poll for the exit with sleeps of up to 50 ms, which
    quantizes the measurement; a blocking wait with a watchdog timer does not.
    """
    started = time.perf_counter()
    process = subprocess.Popen(command, env=env, cwd=cwd, stdin=subprocess.DEVNULL)
    watchdog = threading.Timer(timeout, process.kill)
    watchdog.start()
    try:
        code = process.wait()
    finally:
        watchdog.cancel()
    elapsed = time.perf_counter() - started
    if code != 0:
        raise RuntimeError(f"{' '.join(command)} exited with {code}")
    return elapsed


# -- /proc -----------------------------------------------------------------------------------


def proc_status_kib(pid: int) -> dict[str, int]:
    """``VmRSS`` and ``VmHWM`` of ``pid`` in KiB, from ``/proc/<pid>/status``."""
    out: dict[str, int] = {}
    with open(f"/proc/{pid}/status", encoding="ascii") as status:
        for line in status:
            key, _, value = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                out[key] = int(value.split()[0])
    return out


def proc_sched(pid: int) -> tuple[float, float]:
    """``(on-CPU seconds, seconds spent runnable but waiting for a CPU)`` of ``pid``'s main thread.

    From ``/proc/<pid>/schedstat`` (nanoseconds). The wait is what a busy, shared machine adds to
    wall-clock figures; without schedstat it is reported as 0 and CPU time comes from ``stat``.
    """
    try:
        with open(f"/proc/{pid}/schedstat", encoding="ascii") as schedstat:
            fields = schedstat.read().split()
        return int(fields[0]) / 1e9, int(fields[1]) / 1e9
    except (OSError, ValueError, IndexError):
        with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK"), 0.0


def filesystem(path: Path) -> str:
    """The type of the file system holding ``path`` (from ``/proc/mounts``), e.g. ``ext4``."""
    resolved = str(path.resolve())
    best, kind = "", "unknown"
    try:
        with open("/proc/mounts", encoding="utf-8") as mounts:
            for line in mounts:
                fields = line.split()
                if len(fields) < 3:
                    continue
                point = fields[1]
                inside = resolved == point or resolved.startswith(point.rstrip("/") + "/")
                if inside and len(point) >= len(best):
                    best, kind = point, fields[2]
    except OSError:
        pass
    return kind


def mib(kib: float) -> float:
    return kib / 1024


# -- statistics and reporting ----------------------------------------------------------------


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (``q`` in 0..100) of a non-empty sequence."""
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


def summary(values: Sequence[float]) -> dict[str, float]:
    return {
        "median": statistics.median(values),
        "min": min(values),
        "max": max(values),
        "n": len(values),
    }


@dataclass(frozen=True)
class Target:
    """A goal to print next to a figure: ``value < limit`` (or ``>`` when higher is better)."""

    limit: float
    unit: str
    higher_is_better: bool = False

    def met(self, value: float) -> bool:
        return value > self.limit if self.higher_is_better else value < self.limit

    def describe(self) -> str:
        return f"{'>' if self.higher_is_better else '<'} {self.limit:g} {self.unit}"

    def verdict(self, value: float) -> str:
        return "met" if self.met(value) else "**not met**"

    def to_json(self, value: float) -> dict[str, Any]:
        return {"target": self.describe(), "value": value, "met": self.met(value)}


def print_table(title: str, header: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
    """A Markdown table, so the output can be pasted into ``docs/performance.md`` as it is."""
    print(f"\n### {title}\n")
    print("| " + " | ".join(header) + " |")
    print("|" + "|".join("---" for _ in header) + "|")
    for row in rows:
        print("| " + " | ".join(row) + " |")


def machine_info() -> dict[str, Any]:
    """What the figures depend on: CPUs, load, interpreter, and ``uptime`` as printed."""
    uptime = ""
    if shutil.which("uptime"):
        run = subprocess.run(["uptime"], capture_output=True, text=True, timeout=5, check=False)
        uptime = run.stdout.strip()
    return {
        "agentd_revision": revision(),
        "cpus": os.cpu_count(),
        "loadavg": [round(x, 2) for x in os.getloadavg()],
        "uptime": uptime,
        "python": sys.version.split()[0],
        "executable": sys.executable,
        "platform": platform.platform(),
        "time": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }


def revision() -> str:
    """The measured code: ``git`` commit of the checkout, ``+N modified`` for local changes.

    When ``agentd`` is imported from elsewhere (``PYTHONPATH=DIR``, e.g. a ``git archive`` of one
    commit, which the spawned daemons inherit), that directory is named, with the commit found in
    its ``REVISION`` file if there is one.
    """
    spec = importlib.util.find_spec("agentd")
    if spec is not None and spec.origin is not None:
        root = Path(spec.origin).resolve().parent.parent
        if root != REPO:
            stamp = root / "REVISION"
            commit = stamp.read_text(encoding="utf-8").strip() if stamp.exists() else "?"
            return f"{commit} (snapshot in {root})"
    if not shutil.which("git"):
        return "unknown"
    head = subprocess.run(
        ["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"],
        capture_output=True,
        text=True,
        timeout=10,
        check=False,
    ).stdout.strip()
    dirty = subprocess.run(
        ["git", "-C", str(REPO), "status", "--porcelain", "--", "agentd"],
        capture_output=True,
        text=True,
        timeout=10,
        check=False,
    ).stdout.splitlines()
    return f"{head or 'unknown'}{f' +{len(dirty)} modified in agentd/' if dirty else ''}"


def print_machine(info: Mapping[str, Any]) -> None:
    print(
        f"agentd {info['agentd_revision']}; machine: {info['cpus']} CPUs,"
        f" Python {info['python']}, {info['platform']}\n"
        f"load before the run: {info['uptime'] or info['loadavg']}"
    )


def write_json(path: Path, data: Mapping[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    print(f"\nfigures written to {path}")


def top_functions(profile: Path, *, limit: int = 25) -> str:
    """The ``limit`` costliest functions of a cProfile dump, by own time and by cumulative."""
    out = io.StringIO()
    stats = pstats.Stats(str(profile), stream=out)
    stats.strip_dirs()
    for key in ("tottime", "cumulative"):
        out.write(f"\n--- top {limit} by {key} ---\n")
        stats.sort_stats(key).print_stats(limit)
    return out.getvalue()


# -- a streamed turn, measured from the wire ---------------------------------------------------

LONG_ANSWER = "word " * 5000


@dataclass(frozen=True)
class StreamRun:
    """One ``long`` turn as the lean client saw it."""

    elapsed_s: float  # send response → session.completed, both as read from the pipe
    chunk_events: int
    answer_text: str  # the chunks' answerText, concatenated
    answer_length: int  # session.completed's answer_length
    seq_gapless: bool
    client_cpu_s: float
    daemon_cpu_s: float
    daemon_wait_s: float  # runnable but not running: CPU contention on a shared machine

    @property
    def events_per_s(self) -> float:
        return self.chunk_events / self.elapsed_s

    @property
    def chars_per_s(self) -> float:
        return len(self.answer_text) / self.elapsed_s

    @property
    def complete(self) -> bool:
        """Nothing lost: the chunks add up to the whole answer, which the turn reports."""
        return (
            self.answer_text == LONG_ANSWER
            and len(self.answer_text.strip()) == self.answer_length
            and self.seq_gapless
        )


def stream_long_turn(daemon: LeanDaemon, session_id: str, timeout: float = 30.0) -> StreamRun:
    """Send one prompt to a session whose model is ``long`` and time its chunk stream.

    Only frames are cut while the clock runs; the bodies are parsed afterwards.
    """
    request_id, data = daemon.request("session.send", {"session_id": session_id, "text": "go"})
    prefix = response_prefix(request_id)
    daemon.write(data, timeout)
    head, t_response = daemon.read_until(starts_with(prefix), timeout)
    # CPU is sampled over the same window as the clock: response → session.completed.
    cpu_client = time.process_time()
    sched = proc_sched(daemon.pid)
    stream, t_completed = daemon.read_until(lambda body: COMPLETED in body, timeout)
    cpu_client = time.process_time() - cpu_client
    sched_after = proc_sched(daemon.pid)
    tail, _ = daemon.read_until(lambda body: READY in body, timeout)

    response = json.loads(head[-1])
    if "error" in response:
        raise RuntimeError(f"session.send failed: {response['error']}")
    turn_id = response["result"]["turn_id"]
    events = [json.loads(body)["params"] for body in (*head[:-1], *stream, *tail)]
    seqs = [event["seq"] for event in events]
    chunks = [
        event["payload"]["chunk"]
        for event in events
        if event["type"] == "session.stream.chunk" and event["payload"]["turn_id"] == turn_id
    ]
    completed = [event for event in events if event["type"] == "session.completed"]
    return StreamRun(
        elapsed_s=t_completed - t_response,
        chunk_events=len(chunks),
        answer_text="".join(chunk["answerText"] for chunk in chunks),
        answer_length=completed[-1]["payload"]["answer_length"] if completed else -1,
        seq_gapless=seqs == list(range(seqs[0], seqs[0] + len(seqs))) if seqs else False,
        client_cpu_s=cpu_client,
        daemon_cpu_s=sched_after[0] - sched[0],
        daemon_wait_s=sched_after[1] - sched[1],
    )
