"""read_file: numbered slices, limits and confinement."""

from __future__ import annotations

from pathlib import Path

import pytest

from agentd.tools.base import ToolContext, ToolResult
from agentd.tools.registry import ToolRegistry


@pytest.fixture
def numbered(workspace: Path) -> Path:
    path = workspace / "ten.txt"
    path.write_text("".join(f"line {n}\n" for n in range(1, 11)))
    return path


async def read(registry: ToolRegistry, context: ToolContext, **arguments: object) -> ToolResult:
    return await registry.run("read_file", arguments, context)


async def test_whole_file(registry: ToolRegistry, context: ToolContext, numbered: Path) -> None:
    result = await read(registry, context, file_path="ten.txt")
    assert result.ok
    assert result.output == "\n".join(f"L{n}: line {n}" for n in range(1, 11))


async def test_offset_and_limit(
    registry: ToolRegistry, context: ToolContext, numbered: Path
) -> None:
    result = await read(registry, context, file_path="ten.txt", offset=4, limit=3)
    assert result.output == "L4: line 4\nL5: line 5\nL6: line 6"


async def test_limit_past_the_end(
    registry: ToolRegistry, context: ToolContext, numbered: Path
) -> None:
    result = await read(registry, context, file_path="ten.txt", offset=9, limit=100)
    assert result.output == "L9: line 9\nL10: line 10"


async def test_offset_beyond_the_end(
    registry: ToolRegistry, context: ToolContext, numbered: Path
) -> None:
    result = await read(registry, context, file_path="ten.txt", offset=11)
    assert not result.ok
    assert result.error == "offset exceeds file length (10 lines)"


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"offset": 0}, "offset must be a 1-indexed line number"),
        ({"limit": 0}, "limit must be greater than zero"),
        ({"mode": "indentation"}, "mode: must be one of 'slice'"),
    ],
)
async def test_invalid_ranges(
    registry: ToolRegistry,
    context: ToolContext,
    numbered: Path,
    arguments: dict[str, object],
    message: str,
) -> None:
    result = await read(registry, context, file_path="ten.txt", **arguments)
    assert result.output == {"status": "invalid_input", "message": message}


async def test_long_lines_are_cut(
    registry: ToolRegistry, context: ToolContext, workspace: Path
) -> None:
    (workspace / "long.txt").write_text("x" * 1200 + "\nshort\n")
    result = await read(registry, context, file_path="long.txt")
    first, second = result.output.split("\n")
    assert first == "L1: " + "x" * 500
    assert second == "L2: short"


async def test_crlf_and_last_line_without_newline(
    registry: ToolRegistry, context: ToolContext, workspace: Path
) -> None:
    (workspace / "crlf.txt").write_bytes(b"a\r\nb\r\nc")
    result = await read(registry, context, file_path="crlf.txt")
    assert result.output == "L1: a\nL2: b\nL3: c"


async def test_invalid_utf8_is_replaced(
    registry: ToolRegistry, context: ToolContext, workspace: Path
) -> None:
    (workspace / "bin.txt").write_bytes(b"ok \xff\xfe\n")
    result = await read(registry, context, file_path="bin.txt")
    assert result.ok
    assert result.output == "L1: ok \ufffd\ufffd"


async def test_empty_file(registry: ToolRegistry, context: ToolContext, workspace: Path) -> None:
    (workspace / "empty.txt").write_text("")
    result = await read(registry, context, file_path="empty.txt")
    assert result == ToolResult(ok=True, output="")


async def test_missing_file(registry: ToolRegistry, context: ToolContext) -> None:
    result = await read(registry, context, file_path="nope.txt")
    assert result == ToolResult(
        ok=False, output="file not found: nope.txt", error="file not found: nope.txt"
    )


async def test_directory(registry: ToolRegistry, context: ToolContext, workspace: Path) -> None:
    (workspace / "sub").mkdir()
    result = await read(registry, context, file_path="sub")
    assert not result.ok
    assert result.error == "not a file (a directory): sub"


async def test_absolute_path_inside(
    registry: ToolRegistry, context: ToolContext, numbered: Path
) -> None:
    result = await read(registry, context, file_path=str(numbered), limit=1)
    assert result.output == "L1: line 1"


async def test_absolute_path_outside(
    registry: ToolRegistry, context: ToolContext, tmp_path: Path
) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("secret\n")
    result = await read(registry, context, file_path=str(secret))
    assert not result.ok
    assert result.error is not None
    assert result.error.startswith("path is outside the workspace:")
    assert "secret" not in str(result.output).replace(str(secret), "")


async def test_dotdot_escape(registry: ToolRegistry, context: ToolContext, tmp_path: Path) -> None:
    (tmp_path / "secret.txt").write_text("secret\n")
    result = await read(registry, context, file_path="../secret.txt")
    assert not result.ok
    assert "outside the workspace" in (result.error or "")


async def test_symlink_escape(
    registry: ToolRegistry, context: ToolContext, workspace: Path, tmp_path: Path
) -> None:
    (tmp_path / "secret.txt").write_text("secret\n")
    (workspace / "innocent.txt").symlink_to(tmp_path / "secret.txt")
    result = await read(registry, context, file_path="innocent.txt")
    assert not result.ok
    assert "outside the workspace" in (result.error or "")


async def test_symlink_inside_is_read(
    registry: ToolRegistry, context: ToolContext, workspace: Path, numbered: Path
) -> None:
    (workspace / "alias.txt").symlink_to(numbered)
    result = await read(registry, context, file_path="alias.txt", limit=1)
    assert result.output == "L1: line 1"
