"""list_dir: the reference's output format, depth, paging and confinement."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from agentd.tools.base import ToolContext, ToolResult
from agentd.tools.registry import ToolRegistry


@pytest.fixture
def tree(workspace: Path) -> Path:
    """ws/{b.txt, a/{c.txt, d/{e.txt}}, link -> a}"""
    (workspace / "a" / "d").mkdir(parents=True)
    (workspace / "a" / "c.txt").write_text("c")
    (workspace / "a" / "d" / "e.txt").write_text("e")
    (workspace / "b.txt").write_text("b")
    (workspace / "link").symlink_to(workspace / "a")
    return workspace


async def ls(registry: ToolRegistry, context: ToolContext, **arguments: object) -> ToolResult:
    return await registry.run("list_dir", arguments, context)


async def test_default_depth_two(registry: ToolRegistry, context: ToolContext, tree: Path) -> None:
    result = await ls(registry, context, dir_path=".")
    assert result.ok
    assert result.output == "\n".join(
        [f"Absolute path: {tree.resolve()}", "a/", "  c.txt", "  d/", "b.txt", "link@"]
    )


async def test_depth_one(registry: ToolRegistry, context: ToolContext, tree: Path) -> None:
    result = await ls(registry, context, dir_path=str(tree), depth=1)
    assert result.output.splitlines()[1:] == ["a/", "b.txt", "link@"]


async def test_depth_three_does_not_enter_symlinks(
    registry: ToolRegistry, context: ToolContext, tree: Path
) -> None:
    result = await ls(registry, context, dir_path=".", depth=3)
    assert result.output.splitlines()[1:] == [
        "a/",
        "  c.txt",
        "  d/",
        "    e.txt",
        "b.txt",
        "link@",
    ]


async def test_limit_adds_the_trailer(
    registry: ToolRegistry, context: ToolContext, tree: Path
) -> None:
    result = await ls(registry, context, dir_path=".", limit=2)
    assert result.output.splitlines()[1:] == ["a/", "b.txt", "More than 2 entries found"]


async def test_offset_pages_in_breadth_first_order(
    registry: ToolRegistry, context: ToolContext, tree: Path
) -> None:
    result = await ls(registry, context, dir_path=".", offset=3, limit=2)
    assert result.output.splitlines()[1:] == ["  c.txt", "link@", "More than 2 entries found"]


async def test_offset_beyond_the_end(
    registry: ToolRegistry, context: ToolContext, tree: Path
) -> None:
    result = await ls(registry, context, dir_path=".", offset=99)
    assert not result.ok
    assert result.error == "offset exceeds directory entry count"


async def test_subdirectory_and_other_files(
    registry: ToolRegistry, context: ToolContext, tree: Path
) -> None:
    os.mkfifo(tree / "a" / "pipe")
    result = await ls(registry, context, dir_path="a", depth=1)
    assert result.output.splitlines() == [
        f"Absolute path: {(tree / 'a').resolve()}",
        "c.txt",
        "d/",
        "pipe?",
    ]


async def test_empty_directory(
    registry: ToolRegistry, context: ToolContext, workspace: Path
) -> None:
    (workspace / "empty").mkdir()
    result = await ls(registry, context, dir_path="empty")
    assert result.output == f"Absolute path: {(workspace / 'empty').resolve()}"


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"offset": 0}, "offset must be a 1-indexed entry number"),
        ({"limit": 0}, "limit must be greater than zero"),
        ({"depth": 0}, "depth must be greater than zero"),
    ],
)
async def test_invalid_ranges(
    registry: ToolRegistry,
    context: ToolContext,
    tree: Path,
    arguments: dict[str, object],
    message: str,
) -> None:
    result = await ls(registry, context, dir_path=".", **arguments)
    assert result.output == {"status": "invalid_input", "message": message}


async def test_missing_and_file(registry: ToolRegistry, context: ToolContext, tree: Path) -> None:
    missing = await ls(registry, context, dir_path="nope")
    assert missing.error == "directory not found: nope"
    not_dir = await ls(registry, context, dir_path="b.txt")
    assert not_dir.error == "not a directory: b.txt"


async def test_outside_and_symlink_escape(
    registry: ToolRegistry, context: ToolContext, workspace: Path, tmp_path: Path
) -> None:
    (workspace / "up").symlink_to(tmp_path)
    for path in ("..", str(tmp_path), "up"):
        result = await ls(registry, context, dir_path=path)
        assert not result.ok, path
        assert "outside the workspace" in (result.error or "")
