"""Each client in examples/ run against a real daemon, where its runtime exists on this machine
(skipped with the reason otherwise; tests never download anything)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
AGENTD = f"{sys.executable} -m agentd"


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    clean = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY")}
    return {
        **clean,
        "AGENTD_HOME": str(tmp_path / "home"),
        "AGENTD": AGENTD,
        "AGENTD_COMMAND": AGENTD,
    }


def run(argv: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        argv, capture_output=True, text=True, env=env, cwd=ROOT, timeout=60, check=False
    )


def need(program: str) -> str:
    path = shutil.which(program)
    if path is None:
        pytest.skip(f"{program} is not installed on this machine")
    return path


def test_bash_coprocess(env: dict[str, str]) -> None:
    need("bash")
    need("jq")
    script = str(EXAMPLES / "bash" / "agentd-chat.sh")
    done = run([script, "hello from bash"], env)
    assert (done.returncode, done.stdout) == (0, "You said: hello from bash\n"), done.stderr
    rounds = run([script, "script:tool_call look"], env)
    assert rounds.returncode == 0, rounds.stderr
    assert rounds.stdout.startswith("Let me look.\n\nHere is what I found: L1: # agentd\n")
    failed = run([script, "script:error_auth hi"], env)
    assert failed.returncode == 1


def test_node_with_lsp_framing(env: dict[str, str]) -> None:
    node = need("node")
    script = str(EXAMPLES / "node" / "agentd-client.js")
    done = run([node, script, "hello from node"], env)
    assert (done.returncode, done.stdout) == (0, "You said: hello from node\n"), done.stderr
    rounds = run([node, script, "script:tool_call look"], env)
    assert rounds.stdout.startswith("Let me look.\n\nHere is what I found:"), rounds.stderr
    failed = run([node, script, "script:error_auth hi"], env)
    assert failed.returncode == 1
    assert "[error:auth]" in failed.stderr


def test_node_with_vscode_jsonrpc(env: dict[str, str]) -> None:
    node = need("node")
    found = run([node, "-e", "require.resolve('vscode-jsonrpc/node')"], env)
    if found.returncode != 0:
        pytest.skip("vscode-jsonrpc is not installed (npm install vscode-jsonrpc to run this)")
    done = run([node, str(EXAMPLES / "node" / "with-vscode-jsonrpc.js"), "hi there"], env)
    assert (done.returncode, done.stdout) == (0, "You said: hi there\n"), done.stderr


def test_neovim_lsp_rpc(env: dict[str, str]) -> None:
    nvim = need("nvim")
    script = str(EXAMPLES / "neovim" / "headless.lua")
    done = run([nvim, "--headless", "-u", "NONE", "-l", script, "hello from neovim"], env)
    assert done.returncode == 0, done.stderr
    assert "You said: hello from neovim" in done.stdout


def test_python_pytest_harness(env: dict[str, str]) -> None:
    pytest_args = ["-o", "addopts=", "-q", "-p", "no:cacheprovider", str(EXAMPLES / "python")]
    done = run([sys.executable, "-m", "pytest", *pytest_args], env)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "4 passed" in done.stdout
