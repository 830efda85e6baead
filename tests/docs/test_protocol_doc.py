"""docs/protocol.md covers every method and event, and its generated tables are current."""

from __future__ import annotations

import re

from agentd import docgen
from agentd.api.methods import CANCEL_NOTIFICATION, METHODS
from agentd.protocol.events import EVENTS

TEXT = docgen.DOC.read_text(encoding="utf-8")
HEADINGS = set(re.findall(r"^### `([^`]+)`$", TEXT, re.MULTILINE))
METHOD_NAMES = [spec.name for spec in METHODS] + [CANCEL_NOTIFICATION]


def test_every_method_has_a_section() -> None:
    assert [name for name in METHOD_NAMES if name not in HEADINGS] == []


def test_every_event_has_a_section() -> None:
    assert [name for name in EVENTS if name not in HEADINGS] == []


def test_every_method_and_event_has_notes() -> None:
    assert set(docgen.METHOD_NOTES) == set(METHOD_NAMES)
    assert set(docgen.EVENT_WHEN) == set(EVENTS)


def test_generated_tables_are_current() -> None:
    assert docgen.render_doc(TEXT) == TEXT, "run: python -m agentd.docgen"
    assert docgen.main(["--check"]) == 0


def test_every_params_field_and_result_key_is_documented() -> None:
    section = {
        name: TEXT.split(f"### `{name}`\n", 1)[1].split("\n### ", 1)[0] for name in METHOD_NAMES
    }
    assert "| `session_id` | string | required |" in section["session.send"]
    assert "| `record_id` | string \\| null |" in TEXT
    assert "`-32002` `session_busy`" in section["session.send"]
    assert "`-32001` `session_not_found`" in section["session.get"]


def test_prose_sections_exist() -> None:
    for heading in (
        "## Ordering guarantees",
        "## Example transcripts",
        "## Requests agentd sends to the client",
        "`session.tool.approve {session_id, turn_id, call}`",
    ):
        assert heading in TEXT


def test_scripted_provider_doc_names_what_exists() -> None:
    text = (docgen.DOC.parent / "scripted-provider.md").read_text(encoding="utf-8")
    assert "`description`" in text and "missing key(s) ['description']" in text
    served = {spec.name for spec in METHODS}
    for method in re.findall(r"`(model\.\w+|auth\.\w+)`", text):
        assert method in served, f"scripted-provider.md mentions {method}, which is not served"
