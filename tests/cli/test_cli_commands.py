"""``agentd history rm``, ``models``, ``tools``, ``schema`` and ``doctor`` as a user runs them."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from agentd.client import AgentdClient

from .conftest import FIXTURE_SCRIPTS, ROOT, agentd, assert_no_traceback


def test_history_rm(env: dict[str, str]) -> None:
    for prompt in ("keep me", "drop me"):
        assert agentd("chat", prompt, env=env).returncode == 0
    listing = json.loads(agentd("history", "list", "--json", env=env).stdout)
    newest = listing["sessions"][0]
    done = agentd("history", "rm", newest["id"][:8], env=env)
    assert done.returncode == 0, done.stderr
    assert done.stdout == f"removed {newest['id']}  drop me\n"
    assert not Path(newest["rolloutPath"]).exists()
    after = json.loads(agentd("history", "list", "--json", env=env).stdout)
    assert [s["title"] for s in after["sessions"]] == ["keep me"]
    again = agentd("history", "rm", newest["id"], env=env)
    assert again.returncode == 1
    assert f"no saved chat matched id: {newest['id']}" in again.stderr


async def test_history_rm_refuses_a_record_in_use(env: dict[str, str]) -> None:
    client = await AgentdClient.spawn(env=env)
    try:
        session = await client.create_session()
        turn = await client.send(session, "in use")
        await client.turn_events(turn["turn_id"])
        record_id = (await client.call("session.get", {"session_id": session}))["record_id"]
        done = await asyncio.to_thread(agentd, "history", "rm", record_id, env=env)
        assert done.returncode == 1
        assert "in use by a running agentd" in done.stderr
    finally:
        assert await client.close() == 0
    done = await asyncio.to_thread(agentd, "history", "rm", "last", env=env)
    assert done.returncode == 0, done.stderr


def test_history_on_an_empty_home(env: dict[str, str]) -> None:
    assert agentd("history", "list", env=env).stdout == "(0 of 0)\n"
    shown = agentd("history", "show", "last", env=env)
    assert (shown.returncode, shown.stderr) == (1, "agentd history: no saved chat history yet\n")
    assert agentd("history", "rm", "abc", env=env).returncode == 1
    assert not Path(env["AGENTD_HOME"]).exists()  # reading never creates the home


def test_models_lists_providers_and_scripts(env: dict[str, str]) -> None:
    done = agentd("models", env=env)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == "scripted (default provider)"
    assert "  echo  (default)" in lines and "  tool_call" in lines
    (openai,) = [line for line in lines if line.startswith("openai: not configured (")]
    assert "OPENAI_API_KEY" in openai and "OPENAI_BASE_URL" in openai
    listing = json.loads(agentd("models", "--json", env=env).stdout)
    scripted = listing["providers"][0]
    assert (scripted["name"], scripted["default_model"]) == ("scripted", "echo")
    with_fixtures = json.loads(
        agentd("models", "--json", "--scripts-dir", str(FIXTURE_SCRIPTS), env=env).stdout
    )
    assert "two_tools" in with_fixtures["providers"][0]["models"]
    via_env = json.loads(
        agentd("models", "--json", env={**env, "AGENTD_SCRIPTS_DIR": str(FIXTURE_SCRIPTS)}).stdout
    )
    assert "two_tools" in via_env["providers"][0]["models"]


async def test_tools_match_tools_list(env: dict[str, str]) -> None:
    done = await asyncio.to_thread(agentd, "tools", "--json", env=env)
    async with await AgentdClient.spawn(env=env) as client:
        served = await client.call("tools.list")
    assert json.loads(done.stdout) == served
    table = await asyncio.to_thread(agentd, "tools", env=env)
    names = [line.split()[0] for line in table.stdout.splitlines()]
    assert names == [tool["name"] for tool in served["tools"]]


def test_schema_prints_the_committed_schema(env: dict[str, str]) -> None:
    done = agentd("schema", env=env)
    assert done.returncode == 0
    assert done.stdout == (ROOT / "schema" / "protocol.json").read_text()


def test_doctor_on_a_good_set_up(env: dict[str, str]) -> None:
    done = agentd("doctor", env=env)
    assert done.returncode == 0, done.stdout + done.stderr
    assert env["AGENTD_HOME"] in done.stdout
    assert "scripted turn completed" in done.stdout
    assert done.stdout.endswith("no problems found\n")


def test_doctor_names_problems_and_fixes(env: dict[str, str], tmp_path: Path) -> None:
    home = Path(env["AGENTD_HOME"])
    (home / "sessions").mkdir(parents=True)
    home.chmod(0o755)
    broken = tmp_path / "scripts"
    broken.mkdir()
    (broken / "broken.json").write_text('{"name": "broken", "rounds": "no"}')
    bad_env = {
        **env,
        "AGENTD_SCRIPTS_DIR": f"{broken}:/nonexistent",
        "AGENTD_LOG_LEVEL": "loud",
        "AGENTD_OPENAI_API": "soap",
    }
    done = agentd("doctor", env=bad_env)
    assert done.returncode == 1
    out = done.stdout
    assert "6 problem(s):" in out, out  # home and sessions are both 0755
    assert "AGENTD_SCRIPTS_DIR names /nonexistent, which is not a directory" in out
    assert "AGENTD_LOG_LEVEL='loud' is not a log level" in out
    assert "AGENTD_OPENAI_API='soap'" in out
    assert "script broken is broken" in out
    assert f"fix: chmod 700 {home}" in out
    assert_no_traceback(done.stderr)
