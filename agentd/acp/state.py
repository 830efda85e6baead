"""What ``agentd acp`` keeps per session, and the param checks its methods share."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from agentd.core.events import TurnFailed
from agentd.core.session import Session
from agentd.protocol import errors


class ActivePrompt:
    """The running ``session/prompt`` of a session."""

    __slots__ = ("cancelled", "failure", "woken")

    def __init__(self) -> None:
        self.cancelled = False
        self.failure: TurnFailed | None = None
        #: Set by a cancel: the prompt stops waiting for the turn after a grace period.
        self.woken = asyncio.Event()


class AcpSession:
    """An agentd session as ACP sees it: its ACP id and its running prompt."""

    __slots__ = ("acp_id", "core", "prompt")

    def __init__(self, acp_id: str, core: Session) -> None:
        self.acp_id = acp_id
        self.core = core
        self.prompt: ActivePrompt | None = None


def params_of(raw: Any, method: str) -> dict[str, Any]:
    if not isinstance(raw, dict):
        raise errors.invalid_params(method, "params must be an object")
    return raw


def string(params: Mapping[str, Any], key: str, method: str) -> str:
    value = params.get(key)
    if not isinstance(value, str) or not value:
        raise errors.invalid_params(method, f"`{key}` must be a non-empty string", key)
    return value


def absolute_cwd(params: Mapping[str, Any], method: str) -> str:
    cwd = string(params, "cwd", method)
    if not Path(cwd).is_absolute():
        raise errors.invalid_params(method, "`cwd` must be an absolute path", "cwd")
    return cwd
