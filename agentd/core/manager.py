"""The session manager: creates, finds and shuts down sessions; owns the shared runtime."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from agentd.core.errors import (
    InvalidOption,
    InvalidState,
    Overloaded,
    ProviderUnavailable,
    SessionNotFound,
)
from agentd.core.events import SessionCreated
from agentd.core.recorder import SessionRecord
from agentd.core.runtime import ModelSelection, Runtime
from agentd.core.session import Session
from agentd.tools.mcp.config import McpConfigError, parse_list

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
        mcp_servers: Any = None,
        announce: bool = True,
    ) -> Session:
        """A new session, checked and registered; ``announce=False`` leaves its
        ``SessionCreated`` to the caller (a resume announces once the record is open)."""
        runtime = self.runtime
        providers = runtime.providers
        if len(self.sessions) >= MAX_SESSIONS:
            raise Overloaded(f"too many sessions ({MAX_SESSIONS})", retry_after_ms=1000)
        selection = runtime.selection
        provider_name = provider or (selection.provider if selection else None)
        provider_name = provider_name or providers.default_provider
        if provider_name not in providers.known:
            raise InvalidOption(
                f"provider must be one of: {', '.join(providers.known)}", "provider"
            )
        if not providers.is_configured(provider_name):
            raise ProviderUnavailable(
                f"provider {provider_name} is not configured ({providers.missing(provider_name)})"
            )
        selected = selection if selection and selection.provider == provider_name else None
        model_name = model or (
            selected.model if selected else providers.default_model(provider_name)
        )
        if not model_name:
            raise InvalidOption(
                f"no model configured for provider {provider_name}: pass `model`, or set one "
                f"(AGENTD_OPENAI_MODEL, or [providers.{provider_name}] model in config.toml)",
                "model",
            )
        workspace = runtime.default_cwd if cwd is None else Path(cwd).expanduser()
        if not workspace.is_absolute():
            workspace = runtime.default_cwd / workspace
        if not workspace.is_dir():
            raise InvalidOption("`cwd` must be an existing directory", "cwd")
        try:
            servers = [] if mcp_servers is None else parse_list(mcp_servers)
        except McpConfigError as exc:
            raise InvalidOption(str(exc), "mcp_servers") from None
        session = Session(
            runtime,
            title=title,
            cwd=workspace.resolve(),
            provider=provider_name,
            model=model_name,
            system_prompt=system_prompt or runtime.system_prompt,
            approval_policy=approval_policy or "auto",
            thinking=selected.thinking if selected and not model else None,
            pinned=provider is not None or model is not None,
        )
        session.use_mcp_servers(servers)
        self.sessions[session.id] = session
        if announce:
            self.runtime.bus.emit(SessionCreated(session.id))
        return session

    async def create_resumed(self, resume_id: str, **options: Any) -> Session:
        """A new session continuing the saved record ``resume_id`` (its id, prefix or path).

        Store errors (not found, in use by another process, path outside the history) propagate.
        """
        history = self.runtime.history
        if history is None:
            raise InvalidState("history is disabled in this daemon")
        session = self.create(**options, announce=False)
        try:
            journal = await history.run(
                lambda: history.store().open_record(resume_id),
                abandoned=lambda late: late.close(),  # never leave an unused record locked
            )
        except BaseException:
            del self.sessions[session.id]
            raise
        session.resume(journal.view, SessionRecord(history, session.history_failed, journal))
        self.runtime.bus.emit(SessionCreated(session.id))
        return session

    async def create_recorded(self, **options: Any) -> Session:
        """A new session whose history record exists at once (not at its first turn).

        A front door that hands out the record id as the session's id (ACP) needs it before any
        prompt, so that a fresh process can load the conversation by that id. Without history
        the session is created as usual (its record id stays ``None``).
        """
        history = self.runtime.history
        session = self.create(**options, announce=False)
        if history is not None and session.record is not None:
            provider, model, cwd = session.provider, session.model, str(session.cwd)
            try:
                journal = await history.run(
                    lambda: history.store().create_record(
                        provider=provider, model=model, thinking_level="", cwd=cwd
                    ),
                    abandoned=lambda late: late.close(),
                )
            except BaseException:
                del self.sessions[session.id]
                raise
            session.record.journal = journal
        self.runtime.bus.emit(SessionCreated(session.id))
        return session

    def select_default(self, selection: ModelSelection) -> None:
        """``model.select`` without a session: the default of new sessions, and of every
        session that was not given its own provider or model."""
        self.runtime.selection = selection
        for session in self.sessions.values():
            if not session.pinned:
                session.select(
                    selection.provider, selection.model, selection.thinking, pinned=False
                )

    def get(self, session_id: str) -> Session:
        session = self.sessions.get(session_id)
        if session is None:
            raise SessionNotFound(session_id)
        return session

    async def shutdown(self, timeout: float) -> None:
        """Interrupt every running turn, wait (bounded) until each has ended, flush history."""
        self.runtime.shutting_down = True
        closing = [session.close(timeout) for session in self.sessions.values()]
        if closing:
            await asyncio.gather(*closing, return_exceptions=True)
        if self.runtime.history is not None:
            await self.runtime.history.close(timeout)
        await self.runtime.aclose()
