"""Helpers for the command-line tests: ``python -m agentd ...`` as a user runs it, on a private
``AGENTD_HOME`` and with no provider keys, every run bounded."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
FIXTURE_SCRIPTS = ROOT / "fixtures" / "scripts"
_SCRUBBED = (
    "OPENAI_API_KEY",
    "OPENAI_BASE_URL",
    "AGENTD_OPENAI_API",
    "OPENROUTER_API_KEY",
    "AGENTD_SCRIPTS_DIR",
    "AGENTD_LOG_LEVEL",
)


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    clean = {k: v for k, v in os.environ.items() if k not in _SCRUBBED}
    return {**clean, "AGENTD_HOME": str(tmp_path / "home"), "TERM": "xterm"}


def agentd(
    *args: str,
    env: dict[str, str],
    stdin: str | None = None,
    cwd: Path | str | None = None,
    timeout: float = 60,
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "agentd", *args],
        input=stdin if stdin is not None else "",
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd,
        timeout=timeout,
    )


def assert_no_traceback(stderr: str | bytes) -> None:
    text = stderr.decode(errors="replace") if isinstance(stderr, bytes) else stderr
    assert "Traceback" not in text, text
    assert "Error:" not in text.replace("[error:", ""), text
