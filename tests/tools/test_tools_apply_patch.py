"""apply_patch on real temporary trees: every operation, fuzzy context, atomicity, confinement."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from agentd.tools.base import ToolContext, ToolResult
from agentd.tools.registry import ToolRegistry


async def patch(registry: ToolRegistry, context: ToolContext, *body: str) -> ToolResult:
    text = "\n".join(("*** Begin Patch", *body, "*** End Patch")) + "\n"
    return await registry.run("apply_patch", {"input": text}, context)


def snapshot(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()
    }


async def test_add_update_delete(
    registry: ToolRegistry, context: ToolContext, workspace: Path
) -> None:
    (workspace / "old.txt").write_text("one\ntwo\nthree\n")
    (workspace / "gone.txt").write_text("x\ny\n")
    result = await patch(
        registry,
        context,
        "*** Add File: pkg/new.py",
        "+print('hi')",
        "+",
        "*** Update File: old.txt",
        "@@",
        " one",
        "-two",
        "+2",
        "+2b",
        " three",
        "*** Delete File: gone.txt",
    )
    assert result.ok, result
    assert result.output == (
        "Success. Updated the following files:\n"
        "A pkg/new.py (+2 -0)\nM old.txt (+2 -1)\nD gone.txt (+0 -2)"
    )
    assert (workspace / "pkg/new.py").read_text() == "print('hi')\n\n"
    assert (workspace / "old.txt").read_text() == "one\n2\n2b\nthree\n"
    assert not (workspace / "gone.txt").exists()


async def test_repeated_anchor_line(
    registry: ToolRegistry, context: ToolContext, workspace: Path
) -> None:
    source = "def a():\n    return 1\n\ndef b():\n    return 1\n\ndef c():\n    return 1\n"
    (workspace / "m.py").write_text(source)
    result = await patch(
        registry, context, "*** Update File: m.py", "@@ def b():", "-    return 1", "+    return 2"
    )
    assert result.ok, result
    assert (workspace / "m.py").read_text() == source.replace(
        "def b():\n    return 1", "def b():\n    return 2"
    )


async def test_hunks_apply_in_order(
    registry: ToolRegistry, context: ToolContext, workspace: Path
) -> None:
    (workspace / "r.txt").write_text("x\nsame\nx\nsame\n")
    result = await patch(
        registry,
        context,
        "*** Update File: r.txt",
        "@@",
        " x",
        "-same",
        "+first",
        "@@",
        " x",
        "-same",
        "+second",
    )
    assert result.ok, result
    assert (workspace / "r.txt").read_text() == "x\nfirst\nx\nsecond\n"


async def test_move_across_directories(
    registry: ToolRegistry, context: ToolContext, workspace: Path
) -> None:
    (workspace / "a").mkdir()
    (workspace / "a/f.txt").write_text("keep\nold\n")
    result = await patch(
        registry,
        context,
        "*** Update File: a/f.txt",
        "*** Move to: b/c/g.txt",
        "@@",
        " keep",
        "-old",
        "+new",
    )
    assert result.ok, result
    assert "M a/f.txt -> b/c/g.txt (+1 -1)" in result.output
    assert not (workspace / "a/f.txt").exists()
    assert (workspace / "b/c/g.txt").read_text() == "keep\nnew\n"


async def test_crlf_file_keeps_its_line_endings(
    registry: ToolRegistry, context: ToolContext, workspace: Path
) -> None:
    (workspace / "w.txt").write_bytes(b"one\r\ntwo\r\nthree\r\n")
    text = "\r\n".join(
        ["*** Begin Patch", "*** Update File: w.txt", "@@", " one", "-two", "+TWO", "*** End Patch"]
    )
    result = await registry.run("apply_patch", {"input": text}, context)
    assert result.ok, result
    assert (workspace / "w.txt").read_bytes() == b"one\r\nTWO\r\nthree\r\n"


async def test_whitespace_tolerant_matching(
    registry: ToolRegistry, context: ToolContext, workspace: Path
) -> None:
    (workspace / "s.py").write_text("if x:   \n\treturn 1\nend\n")
    # trailing whitespace differs on the first line, indentation on the second
    result = await patch(
        registry, context, "*** Update File: s.py", "@@", " if x:", "-    return 1", "+\treturn 2"
    )
    assert result.ok, result
    assert (
        workspace / "s.py"
    ).read_text() == "if x:   \n\treturn 2\nend\n"  # context kept as it was


async def test_end_of_file_anchor(
    registry: ToolRegistry, context: ToolContext, workspace: Path
) -> None:
    (workspace / "e.txt").write_text("a\nb\na\nb\n")
    result = await patch(
        registry, context, "*** Update File: e.txt", "@@", " a", "-b", "+B", "*** End of File"
    )
    assert result.ok, result
    assert (workspace / "e.txt").read_text() == "a\nb\na\nB\n"


async def test_third_hunk_fails_nothing_changes(
    registry: ToolRegistry, context: ToolContext, workspace: Path
) -> None:
    (workspace / "one.txt").write_text("1\n2\n3\n4\n5\n6\n")
    (workspace / "two.txt").write_text("x\n")
    before = snapshot(workspace)
    result = await patch(
        registry,
        context,
        "*** Update File: two.txt",
        "-x",
        "+y",
        "*** Add File: three.txt",
        "+new",
        "*** Update File: one.txt",
        "@@",
        "-1",
        "+one",
        "@@",
        "-3",
        "+three",
        "@@",
        " 5",
        "-nope",
        "+six",
    )
    assert not result.ok
    assert result.error is not None
    assert "hunk 3 of one.txt" in result.error
    assert "nope" in result.error and "No file was changed." in result.error
    assert snapshot(workspace) == before


@pytest.mark.parametrize("path", ["../escape.txt", "/etc/passwd", "a/../../escape.txt"])
async def test_paths_outside_are_refused(
    registry: ToolRegistry, context: ToolContext, workspace: Path, path: str
) -> None:
    result = await patch(registry, context, f"*** Add File: {path}", "+x")
    assert not result.ok
    assert "outside the workspace" in (result.error or "")
    assert not (workspace.parent / "escape.txt").exists()


async def test_symlink_to_outside_is_refused(
    registry: ToolRegistry, context: ToolContext, workspace: Path, tmp_path: Path
) -> None:
    outside = tmp_path / "outside.txt"
    outside.write_text("secret\n")
    (workspace / "link.txt").symlink_to(outside)
    (workspace / "dir").symlink_to(tmp_path)
    for body in (
        ("*** Update File: link.txt", "-secret", "+pwned"),
        ("*** Add File: dir/new.txt", "+pwned"),
        ("*** Delete File: link.txt",),
    ):
        result = await patch(registry, context, *body)
        assert not result.ok
        assert "outside the workspace" in (result.error or "")
    assert outside.read_text() == "secret\n"
    assert not (tmp_path / "new.txt").exists()


async def test_large_file_patched_fast(
    registry: ToolRegistry, context: ToolContext, workspace: Path
) -> None:
    lines = [f"line {i} " + "x" * 40 for i in range(20_000)]  # ~1 MB
    (workspace / "big.txt").write_text("\n".join(lines) + "\n")
    started = time.perf_counter()
    result = await patch(
        registry,
        context,
        "*** Update File: big.txt",
        "@@",
        f" {lines[19_998]}",
        f"-{lines[19_999]}",
        "+last",
    )
    elapsed = time.perf_counter() - started
    assert result.ok, result
    assert (workspace / "big.txt").read_text().endswith(f"{lines[19_998]}\nlast\n")
    assert elapsed < 5  # generous: a bound against quadratic behaviour, not a benchmark


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        (("*** Update File: missing.txt", "-a", "+b"), "cannot update missing.txt: no such file"),
        (("*** Delete File: missing.txt",), "cannot delete missing.txt: no such file"),
        (("*** Add File: exists.txt", "+a"), "cannot add exists.txt: it already exists"),
        (("*** Update File: exists.txt", "@@ nowhere", "-a", "+b"), "anchor line 'nowhere'"),
        (("*** Frobnicate: x",), "line 2: expected '*** Add File: '"),
        (("*** Update File: exists.txt", " context only"), "changes nothing"),
        (("*** Add File: x", "no plus"), "starts with '+'"),
    ],
)
async def test_failures_say_why(
    registry: ToolRegistry,
    context: ToolContext,
    workspace: Path,
    body: tuple[str, ...],
    fragment: str,
) -> None:
    (workspace / "exists.txt").write_text("a\n")
    result = await patch(registry, context, *body)
    assert not result.ok
    assert fragment in (result.error or ""), result.error
    assert (workspace / "exists.txt").read_text() == "a\n"


async def test_missing_envelope(registry: ToolRegistry, context: ToolContext) -> None:
    result = await registry.run("apply_patch", {"input": "--- a/x\n+++ b/x\n"}, context)
    assert result.output["status"] == "invalid_input"
    assert "*** Begin Patch" in (result.error or "")


async def test_heredoc_wrapped_patch(
    registry: ToolRegistry, context: ToolContext, workspace: Path
) -> None:
    text = "<<'EOF'\n*** Begin Patch\n*** Add File: h.txt\n+hi\n*** End Patch\nEOF\n"
    result = await registry.run("apply_patch", {"input": text}, context)
    assert result.ok, result
    assert (workspace / "h.txt").read_text() == "hi\n"


async def test_native_operations(
    registry: ToolRegistry, context: ToolContext, workspace: Path
) -> None:
    create = {"type": "create_file", "path": "n/new.txt", "diff": "+alpha\n+beta\n"}
    result = await registry.run("apply_patch", create, context)
    assert result.ok and "A n/new.txt (+2 -0)" in result.output
    update = {"type": "update_file", "path": "n/new.txt", "diff": "@@\n alpha\n-beta\n+gamma\n"}
    result = await registry.run("apply_patch", update, context)
    assert result.ok, result
    assert (workspace / "n/new.txt").read_text() == "alpha\ngamma\n"
    result = await registry.run(
        "apply_patch", {"type": "delete_file", "path": "n/new.txt"}, context
    )
    assert result.ok and "D n/new.txt (+0 -2)" in result.output
    assert not (workspace / "n/new.txt").exists()


@pytest.mark.parametrize(
    ("arguments", "fragment"),
    [
        ({}, "missing required argument"),
        ({"type": "rename_file", "path": "x"}, "must be one of"),
        ({"type": "update_file", "path": "x"}, "needs a 'diff' string"),
        ({"type": "create_file", "path": "x", "diff": "no plus"}, "starts with '+'"),
        ({"input": 5}, "expected string"),
    ],
)
async def test_bad_native_operations(
    registry: ToolRegistry, context: ToolContext, arguments: dict[str, object], fragment: str
) -> None:
    result = await registry.run("apply_patch", arguments, context)
    assert result.output["status"] == "invalid_input"
    assert fragment in (result.error or ""), result.error


async def test_non_utf8_file_is_refused(
    registry: ToolRegistry, context: ToolContext, workspace: Path
) -> None:
    (workspace / "bin.dat").write_bytes(b"\xff\xfe\x00a\n")
    result = await patch(registry, context, "*** Update File: bin.dat", "-a", "+b")
    assert not result.ok and "not UTF-8 text" in (result.error or "")
    assert (workspace / "bin.dat").read_bytes() == b"\xff\xfe\x00a\n"


async def test_lone_surrogate_is_refused(
    registry: ToolRegistry, context: ToolContext, workspace: Path
) -> None:
    result = await patch(registry, context, "*** Add File: s.txt", "+\ud800")
    assert not result.ok and "not valid UTF-8" in (result.error or "")
    assert not (workspace / "s.txt").exists()
