"""Time from a session's first ``session.send`` to its MCP tools being ready, and to its answer.

Spawns the real daemon with ``$AGENTD_HOME/config.toml`` naming N copies of the FastMCP fixture
server (``fixtures/mcp/server.py``), sends one prompt per fresh session (the scripted ``echo``
model, no tool call) and reads the event stream: ``session.mcp.status: ready`` for every server,
then ``session.completed``. The same turn without servers is the baseline. Prints medians; asserts
nothing.

    .venv/bin/python bench/mcp.py [--runs 5] [--servers 1]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

from agentd.client import AgentdClient

REPO = Path(__file__).resolve().parent.parent
SERVER = REPO / "fixtures" / "mcp" / "server.py"


async def one_turn(servers: int) -> tuple[float, float]:
    """(ms to all servers ready, ms to the turn's end) for one fresh daemon and session."""
    with tempfile.TemporaryDirectory() as home:
        config = "".join(
            f"[mcp_servers.s{i}]\ncommand = {sys.executable!r}\nargs = [{str(SERVER)!r}]\n"
            for i in range(servers)
        )
        Path(home, "config.toml").write_text(config)
        client = await AgentdClient.spawn(env={**os.environ, "AGENTD_HOME": home})
        try:
            session_id = await client.create_session()
            started = time.perf_counter()
            sent = await client.send(session_id, "hello")
            ready_at = started
            ready = 0
            async for event in client.iter_events(timeout=60):
                if event["type"] == "session.mcp.status" and event["payload"]["status"] == "ready":
                    ready += 1
                    ready_at = time.perf_counter()
                if (
                    event["type"] in ("session.completed", "session.error")
                    and event["payload"].get("turn_id") == sent["turn_id"]
                ):
                    break
            done = time.perf_counter()
            assert ready == servers, f"{ready} of {servers} servers ready"
            return (ready_at - started) * 1000, (done - started) * 1000
        finally:
            await client.close()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--servers", type=int, default=1)
    args = parser.parse_args()
    for servers in sorted({0, args.servers}):
        rows = [await one_turn(servers) for _ in range(args.runs)]
        ready = statistics.median(r[0] for r in rows)
        done = statistics.median(r[1] for r in rows)
        print(
            f"{servers} MCP server(s), {args.runs} runs: first send → tools ready "
            f"{ready:.0f} ms (median), → turn completed {done:.0f} ms "
            f"(min–max {min(r[1] for r in rows):.0f}–{max(r[1] for r in rows):.0f})"
        )


if __name__ == "__main__":
    asyncio.run(main())
