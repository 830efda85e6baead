"""The patch parser on adversarial input: it returns operations or raises ``PatchError``."""

from __future__ import annotations

import asyncio
import contextlib
import tempfile
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from agentd.tools.base import ToolContext
from agentd.tools.patch.parser import PatchError, parse_operation, parse_patch
from agentd.tools.registry import ToolRegistry, default_registry

_PIECES = st.sampled_from(
    [
        "*** Begin Patch",
        "*** End Patch",
        "*** Add File: a.txt",
        "*** Delete File: a.txt",
        "*** Update File: a.txt",
        "*** Move to: b/c.txt",
        "*** End of File",
        "@@",
        "@@ def f():",
        "@@ -1,2 +1,2 @@",
        "+added",
        "-removed",
        " context",
        "",
        "\r",
        "\x00",
        "\ud800",
        "<<'EOF'",
        "EOF",
    ]
)
_LINES = st.lists(st.one_of(_PIECES, st.text(max_size=20)), max_size=40)
_EOL = st.sampled_from(["\n", "\r\n", "\r"])


@given(_LINES, _EOL)
@settings(max_examples=400, deadline=None)
def test_parse_patch_never_crashes(lines: list[str], eol: str) -> None:
    try:
        parse_patch(eol.join(lines))
    except PatchError as exc:
        assert str(exc)


@given(st.text(max_size=2000))
@settings(max_examples=200, deadline=None)
def test_arbitrary_text(text: str) -> None:
    with contextlib.suppress(PatchError):
        parse_patch(text)


@given(
    st.fixed_dictionaries(
        {
            "type": st.sampled_from(["create_file", "update_file", "delete_file", "x"]),
            "path": st.text(max_size=10),
            "diff": st.one_of(st.none(), _LINES.map("\n".join)),
        }
    )
)
@settings(max_examples=300, deadline=None)
def test_parse_operation_never_crashes(operation: dict[str, object]) -> None:
    with contextlib.suppress(PatchError):
        parse_operation(operation)


def test_huge_patch_is_refused_quickly() -> None:
    text = "*** Begin Patch\n*** Add File: a\n" + "+x\n" * 6_000_000 + "*** End Patch\n"
    try:
        parse_patch(text)
    except PatchError as exc:
        assert "too large" in str(exc)
    else:
        raise AssertionError("a 18 MB patch was accepted")


@given(_LINES)
@settings(max_examples=150, deadline=None)
def test_applying_never_crashes(lines: list[str]) -> None:
    """Through the tool: any input ends in a result, never an unexpected error."""
    with tempfile.TemporaryDirectory() as name:
        root = Path(name)
        (root / "a.txt").write_text("context\nremoved\n")
        registry: ToolRegistry = default_registry()
        text = "\n".join(["*** Begin Patch", *lines, "*** End Patch"])
        result = asyncio.run(registry.run("apply_patch", {"input": text}, ToolContext(root)))
    # an expected failure is a message or ``invalid_input``; ``status: error`` would be a bug
    assert not (isinstance(result.output, dict) and result.output.get("status") == "error"), result
