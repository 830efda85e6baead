"""Session config options: the model (category ``model``) and the approval policy (``mode``).

ACP v1's stable way to let an editor pick the model is ``configOptions`` (in ``session/new`` and
``session/load`` answers) and ``session/set_config_option``; the older ``models`` /
``session/set_model`` pair is unstable and absent from the SDK 0.12 schema. The approval policy
is also offered as ACP session modes (``modes``), for clients without config options: both stay
in sync.

The model list is built offline, never asking a provider's server (``session/new`` must not
wait on the network): the scripted provider's scripts, and for HTTP providers their cached
list (``model.list`` fills it), else the built-in catalogue and the configured default. Values
are ``provider/model`` (provider names hold no ``/``; OpenRouter's model ids may).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Literal

from agentd.acp.shapes import (
    MODES,
    ConfigOption,
    ConfigSelectOption,
    SessionModeState,
    SessionUpdate,
)
from agentd.acp.state import AcpSession
from agentd.core.runtime import Runtime
from agentd.core.session import Session
from agentd.protocol import errors
from agentd.protocol.errors import RpcError
from agentd.providers.models import (
    OPENAI_CATALOGUE,
    ModelInfo,
    describe,
    list_provider_models,
    normalise_thinking,
)
from agentd.providers.registry import ProviderRegistry

MODEL = "model"
MODE = "mode"


def model_value(provider: str, model: str) -> str:
    return f"{provider}/{model}"


def split_value(value: str) -> tuple[str, str]:
    provider, _, model = value.partition("/")
    return provider, model


async def model_catalogue(
    providers: ProviderRegistry, cache_dir: Path | None
) -> list[tuple[str, ModelInfo]]:
    """(provider, model) for every configured provider, offline."""
    found: list[tuple[str, ModelInfo]] = []
    for name in providers.configured():
        if name == "scripted":
            lister = getattr(providers.get(name), "list_models", None)
            names: list[str] = await lister() if lister is not None else []
            found += [(name, ModelInfo(n, n, "scripted provider script")) for n in names]
            continue
        fallback = list(OPENAI_CATALOGUE) if name == "openai" else []
        default = providers.default_model(name)
        if default and all(m.id != default for m in fallback):
            fallback.insert(0, describe(default))
        # no provider given: a stale cache or the catalogue, never the server
        listed = await list_provider_models(name, None, cache_dir, fallback)
        found += [(name, info) for info in listed.models]
    return found


def _select(
    option_id: str,
    name: str,
    category: Literal["mode", "model"],
    current: str,
    options: list[ConfigSelectOption],
) -> ConfigOption:
    return {
        "type": "select",
        "id": option_id,
        "name": name,
        "category": category,
        "currentValue": current,
        "options": options,
    }


def config_options(core: Session, catalogue: list[tuple[str, ModelInfo]]) -> list[ConfigOption]:
    """The session's ``configOptions``: its approval mode and its model."""
    current = model_value(core.provider, core.model)
    providers = {provider for provider, _ in catalogue}
    models: list[ConfigSelectOption] = []
    seen: set[str] = set()
    for provider, info in catalogue:
        value = model_value(provider, info.id)
        if value in seen:
            continue
        seen.add(value)
        option: ConfigSelectOption = {"value": value, "name": info.label or info.id}
        if len(providers) > 1 or info.description:
            where = provider if len(providers) > 1 else ""
            option["description"] = " · ".join(p for p in (where, info.description) if p)
        models.append(option)
    if current not in seen:  # a model chosen elsewhere (config, a saved record) stays listed
        models.insert(0, {"value": current, "name": core.model})
    policies: list[ConfigSelectOption] = [
        {"value": m["id"], "name": m["name"], "description": m["description"]} for m in MODES
    ]
    return [
        _select(MODE, "Approval", "mode", core.approval_policy, policies),
        _select(MODEL, "Model", "model", current, models),
    ]


def modes(core: Session) -> SessionModeState:
    """The session's ``modes``: its approval policy, for clients without config options."""
    return {"currentModeId": core.approval_policy, "availableModes": list(MODES)}


class SessionSettings:
    """A session's mode and model as ACP sets them (``session/set_mode`` and
    ``session/set_config_option``), over ``runtime``'s providers."""

    def __init__(self, runtime: Runtime, send: Callable[[AcpSession, SessionUpdate], None]) -> None:
        self.runtime = runtime
        self.send = send
        self._catalogue: list[tuple[str, ModelInfo]] | None = None

    async def models(self) -> list[tuple[str, ModelInfo]]:
        """The offline model list, built once per process."""
        if self._catalogue is None:
            history = self.runtime.history
            cache = history.home / "cache" if history is not None else None
            self._catalogue = await model_catalogue(self.runtime.providers, cache)
        return self._catalogue

    async def options(self, core: Session) -> list[ConfigOption]:
        return config_options(core, await self.models())

    def apply_mode(self, state: AcpSession, mode: str, field: str) -> None:
        if mode not in {m["id"] for m in MODES}:
            raise errors.invalid_params("session/set_mode", f"unknown mode {mode!r}", field)
        state.core.approval_policy = mode
        self.send(state, {"sessionUpdate": "current_mode_update", "currentModeId": mode})

    async def apply_model(self, core: Session, value: str) -> None:
        """Use the model ``value`` names from the session's next model request on (as
        ``model.select {session_id}`` does); ``-32602`` (``unknown_model``) if not listed."""
        provider, model = split_value(value)
        listed = {(p, info.id): info for p, info in await self.models()}
        if (provider, model) not in listed and (provider, model) != (core.provider, core.model):
            raise RpcError(
                errors.INVALID_PARAMS,
                f"invalid params for session/set_config_option: unknown model {value!r}",
                "unknown_model",
                field="value",
            )
        info = listed.get((provider, model)) or describe(model)
        core.select(provider, model, normalise_thinking(core.thinking, info))

    def restore_model(self, core: Session, provider: str, model: str) -> None:
        """A loaded session keeps the model it was saved with, when that provider is here."""
        if provider and model and self.runtime.providers.is_configured(provider):
            core.select(provider, model, normalise_thinking(core.thinking, describe(model)))
