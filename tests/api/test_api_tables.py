"""The method table and the projection stay complete and consistent with the code they name."""

from __future__ import annotations

import typing

import pytest

from agentd.api.dispatch import handler_for, params_type
from agentd.api.methods import METHODS, MethodSpec
from agentd.api.projection import Projector
from agentd.core import events as core_events
from agentd.protocol import methods as params_module
from agentd.protocol import results
from agentd.protocol.events import EVENTS


@pytest.mark.parametrize("spec", METHODS, ids=lambda s: s.name)
def test_every_row_names_real_types_and_a_matching_handler(spec: MethodSpec) -> None:
    handler = handler_for(spec)
    # handlers name params types under TYPE_CHECKING (kept off the start-up path)
    names = {**vars(params_module), **vars(results)}
    hints = typing.get_type_hints(handler, localns=names)
    params = params_type(spec)
    ctx, params_name, returns = hints
    assert (ctx, returns) == ("ctx", "return")
    assert hints[params_name] is params
    expected = type(None) if spec.result is None else getattr(results, spec.result)
    assert hints["return"] is expected


def test_method_names_are_unique() -> None:
    names = [spec.name for spec in METHODS]
    assert len(names) == len(set(names))


def test_every_core_event_has_a_projection_to_a_declared_event() -> None:
    projector = Projector(lambda *_: None, dict)
    members = typing.get_args(core_events.CoreEvent)
    assert set(members) == set(projector._table)
    projected_types = set()
    for cls in members:
        function = projector._table[cls]
        hint = typing.get_type_hints(function)["return"]
        payload_type = typing.get_args(hint)[1]
        projected_types.add(next(k for k, v in EVENTS.items() if v is payload_type))
    # ``compaction.completed`` is preceded by the reference's two bookkeeping events
    extras = {
        typing.get_args(typing.get_type_hints(f)["return"])[1]
        for f in (projector._compaction_anchor, projector._compaction_merged)
    }
    projected_types |= {k for k, v in EVENTS.items() if v in extras}
    assert projected_types == set(EVENTS)
