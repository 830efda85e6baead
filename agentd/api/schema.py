"""The committed JSON Schema of the session API, from the one method table.

``python -m agentd.api.schema > schema/protocol.json`` regenerates it; a test fails when the
wire changes and the committed file does not.
"""

from __future__ import annotations

from typing import Any

from agentd.api.dispatch import params_type
from agentd.api.methods import CANCEL_NOTIFICATION, METHODS
from agentd.protocol import methods as params_types
from agentd.protocol import results
from agentd.protocol.events import EVENTS
from agentd.protocol.schema import render


def method_rows() -> list[tuple[str, type[Any], Any]]:
    """(name, params class, result type) of every declared method and ``$/cancelRequest``."""
    rows: list[tuple[str, type[Any], Any]] = [
        (
            spec.name,
            params_type(spec),
            None if spec.result is None else getattr(results, spec.result),
        )
        for spec in METHODS
    ]
    rows.append((CANCEL_NOTIFICATION, params_types.CancelParams, None))
    return rows


def render_schema() -> str:
    return render(method_rows(), EVENTS)


if __name__ == "__main__":
    print(render_schema(), end="")
