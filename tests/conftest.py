"""Every test starts from a provider-neutral environment: a developer's own OpenAI key or base URL
must not turn the tests' scripted sessions into real model calls (daemons inherit os.environ)."""

from __future__ import annotations

import pytest

PROVIDER_ENV = (
    "OPENAI_API_KEY",
    "OPENAI_BASE_URL",
    "OPENAI_ORG_ID",
    "OPENAI_PROJECT_ID",
    "OPENROUTER_API_KEY",
    "AGENTD_OPENAI_API",
    "AGENTD_OPENAI_MODEL",
)


@pytest.fixture(autouse=True)
def _provider_neutral_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in PROVIDER_ENV:
        monkeypatch.delenv(name, raising=False)
