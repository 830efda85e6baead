"""Random params for every method, against the real daemon: each request gets exactly one answer,
every error has a ``data.reason``, and nothing is ever an internal error (that would be a bug)."""

from __future__ import annotations

import asyncio
import os
import random
from pathlib import Path
from typing import Any

from agentd.api.methods import METHODS
from agentd.client import AgentdClient

SAFE_METHODS = sorted(
    {spec.name for spec in METHODS} - {"shutdown", "system.shutdown", "exit", "initialize"}
)
KEYS = [
    "session_id",
    "text",
    "enqueue",
    "images",
    "id",
    "limit",
    "cursor",
    "last",
    "rollout_path",
    "resume_id",
    "provider",
    "model",
    "cwd",
    "title",
    "approval_policy",
    "clear_queue",
    "strict",
    "protocol_version",
    "reason",
    "processId",
]


def random_value(rng: random.Random, depth: int = 0) -> Any:
    scalars: list[Any] = [
        None,
        True,
        rng.randint(-5, 5),
        rng.uniform(-1e6, 1e6),
        "",
        "   ",
        rng.choice(["x", "script:echo hi", "../../etc/passwd", "é中😀", "a" * 300, "scripted"]),
        rng.choice([0, 1.5, -0.0, 2**63]),
    ]
    if depth >= 2 or rng.random() < 0.7:
        return rng.choice(scalars)
    kind = rng.randrange(3)
    if kind == 0:
        return [random_value(rng, depth + 1) for _ in range(rng.randrange(3))]
    if kind == 1:
        return {k: random_value(rng, depth + 1) for k in rng.sample(KEYS, rng.randrange(3))}
    return [{"path": random_value(rng, depth + 1), "data_url": "data:image/png;base64,AAAA"}]


def random_params(rng: random.Random, method: str, session_ids: list[str]) -> Any:
    if method in ("session.send", "session.steer") and rng.random() < 0.5:
        # well-formed prompts too, so turns run while the random calls land
        text = rng.choice(["script:echo hi", "script:short_slow go", "script:two_tools check"])
        return {"session_id": rng.choice(session_ids), "text": text, "enqueue": rng.random() < 0.7}
    if rng.random() < 0.15:
        return random_value(rng)
    params = {k: random_value(rng) for k in rng.sample(KEYS, rng.randrange(5))}
    if session_ids and rng.random() < 0.6:
        params["session_id"] = rng.choice(session_ids)
    return params


async def test_random_params_never_break_the_daemon(tmp_path: Path) -> None:
    rng = random.Random(20261128)
    workspace = tmp_path / "ws"
    workspace.mkdir()
    scripts = Path(__file__).resolve().parents[2] / "fixtures" / "scripts"
    client = await AgentdClient.spawn(
        ["--scripts-dir", str(scripts)],
        env={**os.environ, "AGENTD_HOME": str(tmp_path / "home")},
        cwd=str(workspace),
    )
    try:
        sessions = [await client.create_session() for _ in range(3)]
        for _ in range(30):
            methods = [rng.choice(SAFE_METHODS) for _ in range(20)]
            batch = [(m, random_params(rng, m, sessions)) for m in methods]
            futures = client.pipeline(*batch)
            answers = await asyncio.wait_for(asyncio.gather(*futures), 30)
            for (method, params), answer in zip(batch, answers, strict=True):
                assert ("result" in answer) != ("error" in answer), answer
                if "error" in answer:
                    error = answer["error"]
                    assert error["data"]["reason"], (method, params, error)
                    assert error["code"] != -32603, (method, params, error)
        assert (await client.call("system.ping"))["ok"] is True
    finally:
        code = await client.close()
    assert code == 0
