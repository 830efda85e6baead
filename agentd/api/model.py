"""Model and auth methods (the reference §3): ``model.list``, ``model.select``, ``auth.status``.

Lists come from each provider's server (cached for a day under ``$AGENTD_HOME/cache``), with the
built-in catalogue as the fallback, so ``model.list`` answers offline too. A selection without a
``session_id`` is daemon-wide, as the reference's: new sessions and every session that was not
given its own provider or model use it from their next model request.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from agentd.api.context import ApiContext
from agentd.api.projection import compression_json
from agentd.core.errors import InvalidOption, InvalidState, ProviderUnavailable
from agentd.core.events import CompactionReason, ModelSelected
from agentd.core.runtime import ModelSelection
from agentd.protocol import errors
from agentd.protocol.errors import RpcError
from agentd.protocol.results import (
    AuthStatusResult,
    ModelListResult,
    ModelOption,
    ModelSelectResult,
)
from agentd.providers.models import (
    OPENAI_CATALOGUE,
    ModelInfo,
    describe,
    list_provider_models,
    normalise_thinking,
)
from agentd.providers.registry import ProviderRegistry

if TYPE_CHECKING:
    from agentd.protocol.methods import ModelListParams, ModelSelectParams, NoParams

#: ``model.list``'s provider order (the reference's, then agentd's own).
PROVIDER_ORDER = ("openai", "antigravity", "openrouter", "scripted")


def _option(provider: str, info: ModelInfo) -> ModelOption:
    option: ModelOption = {
        "id": info.id,
        "provider": provider,
        "label": info.label,
        "description": info.description,
    }
    if info.thinking_levels:
        option["supportedThinkingLevels"] = ["OFF", *info.thinking_levels]
    if info.default_thinking:
        option["defaultThinkingLevel"] = info.default_thinking
    if info.context_window:
        option["contextWindowTokens"] = info.context_window
    return option


def _cache_dir(ctx: ApiContext) -> Path | None:
    history = ctx.manager.runtime.history
    return history.home / "cache" if history is not None else None


async def models_of(
    ctx: ApiContext, name: str, *, refresh: bool = False
) -> tuple[list[ModelInfo], str]:
    """The models of one configured provider and where the list came from."""
    providers = ctx.lifecycle.providers
    provider = providers.get(name)
    if name == "scripted":
        names = await provider.list_models()
        return [ModelInfo(n, n, "scripted provider script") for n in names], "local"
    fallback = list(OPENAI_CATALOGUE) if name == "openai" else []
    default = providers.default_model(name)
    if default and all(m.id != default for m in fallback):
        fallback.insert(0, describe(default))
    found = await list_provider_models(name, provider, _cache_dir(ctx), fallback, refresh=refresh)
    return found.models, found.source


def _selected(ctx: ApiContext) -> ModelSelection:
    selection = ctx.manager.runtime.selection
    if selection is not None:
        return selection
    providers = ctx.lifecycle.providers
    default = providers.default_provider
    return ModelSelection(default, providers.default_model(default))


def _check_provider(providers: ProviderRegistry, name: str) -> None:
    if name not in providers.known:
        raise InvalidOption(f"provider must be one of: {', '.join(providers.known)}", "provider")
    if not providers.is_configured(name):
        raise ProviderUnavailable(f"provider {name} is not configured ({providers.missing(name)})")


async def model_list(ctx: ApiContext, p: ModelListParams) -> ModelListResult:
    providers = ctx.lifecycle.providers
    if p.provider is not None:
        _check_provider(providers, p.provider)
        names = [p.provider]
    else:
        configured = providers.configured()
        names = [n for n in PROVIDER_ORDER if n in configured]
        names += [n for n in configured if n not in names]
    models: list[ModelOption] = []
    for name in names:
        infos, _ = await models_of(ctx, name, refresh=p.refresh)
        models.extend(_option(name, info) for info in infos)
    selected = _selected(ctx)
    return {
        "providers": names,
        "models": models,
        "selected_model": selected.model,
        "selected_thinking": selected.thinking,
        "selected_provider": selected.provider,
        "selected_openrouter_provider": None,
    }


async def model_select(ctx: ApiContext, p: ModelSelectParams) -> ModelSelectResult:
    providers = ctx.lifecycle.providers
    manager = ctx.manager
    _check_provider(providers, p.provider)
    if p.compress_immediately and p.session_id is None:
        raise errors.invalid_params(
            "model.select", "session_id is required when compress_immediately is true", "session_id"
        )
    session = manager.get(p.session_id) if p.session_id is not None else None
    if session is not None and p.compress_immediately and session.pending:
        raise InvalidState("session is busy; compress_immediately needs an idle session")
    infos, source = await models_of(ctx, p.provider)
    if source == "cache" and all(info.id != p.model_id for info in infos):
        infos, source = await models_of(ctx, p.provider, refresh=True)  # a model pulled since?
    known = {info.id: info for info in infos}
    if p.model_id not in known and source != "fallback":
        raise RpcError(  # the reference's message, a specific code and reason
            errors.INVALID_PARAMS,
            f"unknown model for provider {p.provider}: {p.model_id}",
            "unknown_model",
            field="model_id",
        )
    info = known.get(p.model_id) or describe(p.model_id)
    thinking = normalise_thinking(p.thinking_level, info)
    selection = ModelSelection(p.provider, p.model_id, thinking)
    if session is not None:
        switched = session.conversation_provider not in (None, p.provider)
        session.select(selection.provider, selection.model, selection.thinking)
    else:
        manager.select_default(selection)
    manager.runtime.bus.emit(ModelSelected(p.session_id))
    result: ModelSelectResult = {
        "selected_model": selection.model,
        "selected_provider": selection.provider,
        "selected_thinking": selection.thinking,
        "selected_openrouter_provider": None,
    }
    if session is not None and p.compress_immediately:
        reason: CompactionReason = "provider_switch" if switched else "auto"
        result["compression"] = compression_json(await session.compact_now(reason))
    return result


async def auth_status(ctx: ApiContext, p: NoParams) -> AuthStatusResult:
    providers = ctx.lifecycle.providers
    return {
        "enabled_providers": providers.configured(),
        "has_openai_token": providers.credentials.get("openai", False),
        "has_openrouter_key": providers.credentials.get("openrouter", False),
        "has_antigravity_token": False,
        "antigravity_profile": None,
    }
