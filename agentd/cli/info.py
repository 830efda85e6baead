"""``agentd models``, ``agentd tools`` and ``agentd schema``: what a daemon started here offers,
read from the same registries and types the daemon uses (no daemon is started).

``models`` reads the provider registry as the daemon builds it (environment and config.toml)
and does not ask servers for their lists: ``model.list`` does, through a daemon.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from agentd.cli import EXIT_OK, EXIT_USAGE


def run(command: str, args: argparse.Namespace) -> int:
    if command == "models":
        return _models(args)
    if command == "tools":
        return _tools(args)
    if command == "schema":
        from agentd.api.schema import render_schema

        sys.stdout.write(render_schema())
        return EXIT_OK
    print(f"agentd: unknown command {command}", file=sys.stderr)  # pragma: no cover
    return EXIT_USAGE


def provider_models(script_dirs: tuple[Any, ...]) -> dict[str, Any]:
    """Every known provider: configured or not, its default model and the models it lists."""
    from agentd.config import settings_from_env
    from agentd.providers.scripted import ScriptedProvider
    from agentd.server import load_providers

    registry = load_providers(settings_from_env(script_dirs=script_dirs))
    rows: list[dict[str, Any]] = []
    for name in registry.known:
        row: dict[str, Any] = {
            "name": name,
            "configured": registry.is_configured(name),
            "default_model": registry.default_model(name) or None,
            "models": [],
        }
        if name == "scripted":
            row["models"] = ScriptedProvider(script_dirs).available_scripts()
        elif not row["configured"]:
            row["missing"] = registry.missing(name)
        rows.append(row)
    return {"default_provider": registry.default_provider, "providers": rows}


def _models(args: argparse.Namespace) -> int:
    listing = provider_models(tuple(args.scripts_dir))
    if args.json:
        print(json.dumps(listing, indent=2))
        return EXIT_OK
    for row in listing["providers"]:
        default = " (default provider)" if row["name"] == listing["default_provider"] else ""
        if not row["configured"]:
            print(f"{row['name']}: not configured ({row['missing']})")
            continue
        print(f"{row['name']}{default}")
        models = row["models"] or [row["default_model"]]
        for model in models:
            marker = "  (default)" if model == row["default_model"] else ""
            print(f"  {model}{marker}")
    return EXIT_OK


def _tools(args: argparse.Namespace) -> int:
    from agentd.tools.registry import default_registry

    specs = default_registry().specs()
    if args.json:
        print(json.dumps({"tools": specs}, indent=2))
        return EXIT_OK
    width = max(len(spec["name"]) for spec in specs)
    for spec in specs:
        summary = spec["description"].strip().splitlines()[0]
        print(f"{spec['name']:<{width}}  {summary}")
    return EXIT_OK
