"""``coalesce`` reaches the OpenAI provider from the environment or ``config.toml``."""

from __future__ import annotations

import pytest

from agentd.config import ConfigError
from agentd.providers.setup import openai_config

ENV = {"OPENAI_BASE_URL": "http://127.0.0.1:9/v1"}


@pytest.mark.parametrize(
    ("env", "table", "expected"),
    [
        ({}, {}, True),
        ({"AGENTD_OPENAI_COALESCE": "0"}, {}, False),
        ({"AGENTD_OPENAI_COALESCE": "off"}, {"coalesce": True}, False),
        ({"AGENTD_OPENAI_COALESCE": "1"}, {"coalesce": False}, True),
        ({}, {"coalesce": False}, False),
    ],
)
def test_coalesce_setting(env: dict[str, str], table: dict[str, object], expected: bool) -> None:
    config, _ = openai_config(ENV | env, table)
    assert config is not None and config.options["coalesce"] is expected


def test_a_non_boolean_coalesce_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="coalesce must be true or false"):
        openai_config(ENV, {"coalesce": "yes"})
