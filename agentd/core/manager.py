"""The session manager: creates, finds and shuts down sessions; owns the shared runtime."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from agentd.core.recorder import SessionRecord
from agentd.core.runtime import Runtime
from agentd.core.session import Session
from agentd.protocol import errors

#: Sessions kept in memory at once.
MAX_SESSIONS = 10_000


class SessionManager:
    """All live sessions of one daemon."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.sessions: dict[str, Session] = {}

    def create(
        self,
        *,
        title: str | None = None,
        cwd: str | None = None,
        provider: str | None = None,
        model: str | None = None,
        system_prompt: str | None = None,
        approval_policy: str | None = None,
    ) -> Session:
        runtime = self.runtime
        if len(self.sessions) >= MAX_SESSIONS:
            raise errors.overloaded(f"too many sessions ({MAX_SESSIONS})", retry_after_ms=1000)
        provider_name = provider or runtime.default_provider
        if provider_name not in runtime.known_providers:
            raise errors.invalid_params(
                "session.create",
                f"provider must be one of: {', '.join(runtime.known_providers)}",
                "provider",
            )
        if provider_name not in runtime.providers:
            raise errors.provider_unavailable(
                f"provider {provider_name} is not configured (no API key or token)"
            )
        workspace = runtime.default_cwd if cwd is None else Path(cwd).expanduser()
        if not workspace.is_absolute():
            workspace = runtime.default_cwd / workspace
        if not workspace.is_dir():
            raise errors.invalid_params(
                "session.create", "`cwd` must be an existing directory", "cwd"
            )
        session = Session(
            runtime,
            title=title,
            cwd=workspace.resolve(),
            provider=provider_name,
            model=model or runtime.default_models.get(provider_name, ""),
            system_prompt=system_prompt or runtime.system_prompt,
            approval_policy=approval_policy or "auto",
        )
        self.sessions[session.id] = session
        return session

    async def create_resumed(self, resume_id: str, **options: Any) -> Session:
        """A new session continuing the saved record ``resume_id`` (its id, prefix or path).

        Store errors (not found, in use by another process, path outside the history) propagate.
        """
        history = self.runtime.history
        if history is None:
            raise errors.invalid_state("history is disabled in this daemon")
        session = self.create(**options)
        try:
            journal = await history.run(
                lambda: history.store().open_record(resume_id),
                abandoned=lambda late: late.close(),  # never leave an unused record locked
            )
        except BaseException:
            del self.sessions[session.id]
            raise
        session.resume(journal.view, SessionRecord(history, session.history_failed, journal))
        return session

    def get(self, session_id: str) -> Session:
        session = self.sessions.get(session_id)
        if session is None:
            raise errors.session_not_found(session_id)
        return session

    def snapshot(self) -> dict[str, Any]:
        """The ``sessions`` part of ``state.get``."""
        return {"count": len(self.sessions), "ids": list(self.sessions)}

    async def shutdown(self, timeout: float) -> None:
        """Interrupt every running turn, wait (bounded) until each has ended, flush history."""
        self.runtime.shutting_down = True
        closing = [session.close(timeout) for session in self.sessions.values()]
        if closing:
            await asyncio.gather(*closing, return_exceptions=True)
        if self.runtime.history is not None:
            await self.runtime.history.close(timeout)
