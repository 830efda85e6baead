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

from pathlib import Path
from typing import Any

from agentd.acp.shapes import MODES
from agentd.core.session import Session
from agentd.providers.models import (
    OPENAI_CATALOGUE,
    ModelInfo,
    describe,
    list_provider_models,
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
    option_id: str, name: str, category: str, current: str, options: list[dict[str, Any]]
) -> dict[str, Any]:
    return {
        "type": "select",
        "id": option_id,
        "name": name,
        "category": category,
        "currentValue": current,
        "options": options,
    }


def config_options(core: Session, catalogue: list[tuple[str, ModelInfo]]) -> list[dict[str, Any]]:
    """The session's ``configOptions``: its approval mode and its model."""
    current = model_value(core.provider, core.model)
    providers = {provider for provider, _ in catalogue}
    models: list[dict[str, Any]] = []
    seen: set[str] = set()
    for provider, info in catalogue:
        value = model_value(provider, info.id)
        if value in seen:
            continue
        seen.add(value)
        option: dict[str, Any] = {"value": value, "name": info.label or info.id}
        if len(providers) > 1 or info.description:
            where = provider if len(providers) > 1 else ""
            option["description"] = " · ".join(p for p in (where, info.description) if p)
        models.append(option)
    if current not in seen:  # a model chosen elsewhere (config, a saved record) stays listed
        models.insert(0, {"value": current, "name": core.model})
    modes = [{"value": m["id"], "name": m["name"], "description": m["description"]} for m in MODES]
    return [
        _select(MODE, "Approval", "mode", core.approval_policy, modes),
        _select(MODEL, "Model", "model", current, models),
    ]
