"""Models: a built-in catalogue with context windows and thinking levels, and listing a
provider's models from its server with a cache and that catalogue as the fallback.

A server's ``/models`` says which ids exist but not how large their context is; the catalogue
fills that in for the models it knows (and is the whole list when the server cannot be reached
and nothing is cached). Listing never raises: ``model.list`` must answer offline.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NamedTuple, Protocol

log = logging.getLogger("agentd.providers")

#: The reference's thinking levels, lowest first.
THINKING_LEVELS = ("OFF", "MINIMAL", "LOW", "MEDIUM", "HIGH", "XHIGH")
_EFFORT = {"MINIMAL": "minimal", "LOW": "low", "MEDIUM": "medium", "HIGH": "high", "XHIGH": "xhigh"}
_REASONING = ("MINIMAL", "LOW", "MEDIUM", "HIGH")
#: How long a fetched model list is trusted before the server is asked again.
CACHE_TTL_S = 24 * 3600
LIST_TIMEOUT_S = 10.0


class ModelInfo(NamedTuple):
    id: str
    label: str
    description: str = ""
    context_window: int | None = None
    thinking_levels: tuple[str, ...] = ()
    default_thinking: str | None = None


def _openai(
    id_: str, window: int, description: str, reasoning: bool = True, default: str = "MEDIUM"
) -> ModelInfo:
    levels = _REASONING if reasoning else ()
    return ModelInfo(id_, id_, description, window, levels, default if reasoning else None)


#: OpenAI models agentd knows the context window of (longest prefix wins when matching).
OPENAI_CATALOGUE: tuple[ModelInfo, ...] = (
    _openai("gpt-5", 400_000, "OpenAI's flagship reasoning model"),
    _openai("gpt-5-mini", 400_000, "faster, cheaper GPT-5", default="LOW"),
    _openai("gpt-5-nano", 400_000, "fastest, cheapest GPT-5", default="LOW"),
    _openai("gpt-4.1", 1_047_576, "non-reasoning, long context", reasoning=False),
    _openai("gpt-4.1-mini", 1_047_576, "smaller GPT-4.1", reasoning=False),
    _openai("gpt-4o", 128_000, "multimodal, non-reasoning", reasoning=False),
    _openai("gpt-4o-mini", 128_000, "small multimodal", reasoning=False),
    _openai("o3", 200_000, "reasoning model"),
    _openai("o4-mini", 200_000, "small reasoning model"),
)


def catalogue_entry(model_id: str) -> ModelInfo | None:
    """The catalogue's entry for ``model_id`` or the longest known prefix (``gpt-5-2025-08-07``)."""
    bare = model_id.split("/")[-1]
    best: ModelInfo | None = None
    for info in OPENAI_CATALOGUE:
        if (bare == info.id or bare.startswith(info.id + "-")) and (
            best is None or len(info.id) > len(best.id)
        ):
            best = info
    return best


def describe(model_id: str) -> ModelInfo:
    """What is known of ``model_id``: its catalogue entry under its own id, else just the id."""
    known = catalogue_entry(model_id)
    return known._replace(id=model_id, label=model_id) if known else ModelInfo(model_id, model_id)


def normalise_thinking(level: str | None, info: ModelInfo) -> str | None:
    """The reference's rule: a supported level stays; anything else becomes the model's default,
    else the middle supported level; models without levels get none."""
    if not info.thinking_levels:
        return None
    wanted = (level or "").strip().upper()
    if wanted in info.thinking_levels or wanted == "OFF":
        return wanted
    if info.default_thinking:
        return info.default_thinking
    return info.thinking_levels[len(info.thinking_levels) // 2]


def reasoning_effort(level: str | None) -> str | None:
    """The request's ``reasoning_effort`` for a thinking level (``None``: do not ask)."""
    return _EFFORT.get((level or "").upper())


class ModelLister(Protocol):
    """A provider that can ask its server which models exist."""

    async def list_models(self) -> list[str]: ...


class ModelList(NamedTuple):
    models: list[ModelInfo]
    #: ``remote`` (asked the server now), ``cache`` or ``fallback`` (the catalogue).
    source: str


def _cache_path(cache_dir: Path, provider: str) -> Path:
    return cache_dir / f"models-{provider}.json"


def _read_cache(path: Path, *, fresh_only: bool) -> list[str] | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or not isinstance(data.get("models"), list):
        return None
    fetched = data.get("fetched_at")
    if fresh_only and (not isinstance(fetched, int | float) or time.time() - fetched > CACHE_TTL_S):
        return None
    return [m for m in data["models"] if isinstance(m, str)]


def _write_cache(path: Path, ids: Sequence[str]) -> None:
    """Best effort, atomic (a temporary file renamed): a failed write only costs a refetch."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        temporary = path.with_suffix(f".{os.getpid()}.tmp")
        temporary.write_text(json.dumps({"fetched_at": time.time(), "models": list(ids)}))
        os.replace(temporary, path)
    except OSError as exc:
        log.warning("could not cache the model list in %s: %s", path, exc)


async def list_provider_models(
    name: str,
    provider: Any,
    cache_dir: Path | None,
    fallback: Sequence[ModelInfo],
    *,
    refresh: bool = False,
) -> ModelList:
    """The models of an HTTP provider: a fresh cache, else the server, else any cache, else the
    catalogue ``fallback``."""
    path = _cache_path(cache_dir, name) if cache_dir is not None else None
    if path is not None and not refresh:
        cached = _read_cache(path, fresh_only=True)
        if cached:
            return ModelList([describe(m) for m in cached], "cache")
    lister = getattr(provider, "list_models", None)
    if lister is not None:
        try:
            async with asyncio.timeout(LIST_TIMEOUT_S):
                ids = sorted(set(await lister()))
            if ids:
                if path is not None:
                    _write_cache(path, ids)
                return ModelList([describe(m) for m in ids], "remote")
        except Exception as exc:  # offline, refused, slow: the list still answers
            log.info("listing the models of %s failed: %s", name, exc)
    stale = _read_cache(path, fresh_only=False) if path is not None else None
    if stale:
        return ModelList([describe(m) for m in stale], "cache")
    return ModelList(list(fallback), "fallback")
