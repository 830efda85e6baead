"""The committed JSON Schema matches the params types, and covers every method agentd serves."""

from __future__ import annotations

import json
import os
from pathlib import Path

from agentd.api.methods import METHODS
from agentd.api.schema import render_schema
from agentd.client import AgentdClient

SCHEMA = Path(__file__).resolve().parents[2] / "schema" / "protocol.json"


def test_committed_schema_is_up_to_date() -> None:
    assert SCHEMA.read_text() == render_schema(), (
        "the protocol types changed: run `python -m agentd.api.schema > schema/protocol.json`"
    )


def test_schema_describes_the_reference_rules() -> None:
    methods = json.loads(SCHEMA.read_text())["methods"]
    send = methods["session.send"]
    assert send["required"] == ["session_id"]
    assert send["properties"]["session_id"] == {"type": "string", "pattern": r"\S"}
    assert send["properties"]["enqueue"]["default"] is False
    assert methods["session.create"]["type"] == ["object", "null"]  # all params optional
    policy = methods["session.create"]["properties"]["approval_policy"]["anyOf"][0]
    assert policy == {"enum": ["auto", "ask", "read_only"]}


async def test_every_served_method_has_a_params_type(tmp_path: Path) -> None:
    client = await AgentdClient.spawn(env={**os.environ, "AGENTD_HOME": str(tmp_path)})
    try:
        served = (await client.call("rpc.handshake"))["methods"]
    finally:
        await client.close()
    declared = {spec.name for spec in METHODS}
    assert set(served) <= declared
    assert declared - set(served) == {"initialized", "exit"}
