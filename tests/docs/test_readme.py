"""Every command in the README runs as written (in order, on one fresh AGENTD_HOME) and exits 0;
the Python snippet runs too. ``make test`` is only dry-run: this test is part of it."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def blocks(language: str) -> list[str]:
    return re.findall(rf"^```{language}\n(.*?)^```", README, re.MULTILINE | re.DOTALL)


COMMANDS = [line for block in blocks("sh") for line in block.splitlines() if line.strip()]


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    clean = {k: v for k, v in os.environ.items() if not k.endswith("_API_KEY")}
    clean.pop("AGENTD_SCRIPTS_DIR", None)
    return {**clean, "AGENTD_HOME": str(tmp_path_factory.mktemp("readme") / "home")}


def test_the_quick_start_comes_first() -> None:
    first = README.split("```sh\n", 1)[1].split("```", 1)[0].splitlines()
    assert [line.split()[:2] for line in first] == [["make", "run"], ["make", "test"]]


def test_the_readme_warns_about_the_default_approval_policy() -> None:
    assert "The default approval policy, `auto`, lets the model run any command" in README


@pytest.mark.parametrize("command", COMMANDS)
def test_readme_command(command: str, env: dict[str, str]) -> None:
    if command.startswith("make test"):
        command = "make -n test"  # running the suite from inside itself would recurse
    done = subprocess.run(
        ["bash", "-c", command],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, f"{command}\n{done.stdout}\n{done.stderr}"
    assert "Traceback" not in done.stderr


def test_readme_python_snippet(env: dict[str, str]) -> None:
    (snippet,) = blocks("python")
    program = "import asyncio\n\nasync def main():\n" + textwrap.indent(snippet, "    ")
    program += "\nasyncio.run(main())\n"
    done = subprocess.run(
        [sys.executable, "-c", program],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "session.completed" in done.stdout
