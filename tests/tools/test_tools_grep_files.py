"""grep_files, with ripgrep (when installed) and with the pure-Python fallback."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from agentd.tools.base import ToolContext, ToolResult
from agentd.tools.grep_files import GrepFilesTool, expand_braces
from agentd.tools.registry import ToolRegistry

HAVE_RG = shutil.which("rg") is not None


@pytest.fixture(
    params=[
        pytest.param(True, id="rg", marks=pytest.mark.skipif(not HAVE_RG, reason="rg not found")),
        pytest.param(False, id="python"),
    ]
)
def grep_registry(request: pytest.FixtureRequest) -> ToolRegistry:
    registry = ToolRegistry()
    registry.register(GrepFilesTool(use_ripgrep=request.param))
    return registry


@pytest.fixture
def files(workspace: Path) -> Path:
    """Three files mentioning ``needle``, with distinct modification times (oldest first)."""
    (workspace / "src").mkdir()
    for age, name in enumerate(["src/new.py", "src/mid.ts", "old.py"]):
        path = workspace / name
        path.write_text("x = 1\nneedle = 2\n")
        stamp = 1_700_000_000 - age * 1000
        os.utime(path, (stamp, stamp))
    (workspace / "src" / "other.py").write_text("nothing here\n")
    (workspace / ".hidden.py").write_text("needle\n")
    (workspace / "blob.bin").write_bytes(b"needle\0\0\0")
    return workspace


async def grep(registry: ToolRegistry, context: ToolContext, **arguments: object) -> ToolResult:
    return await registry.run("grep_files", arguments, context)


def paths(result: ToolResult, root: Path) -> list[str]:
    return [str(Path(line).relative_to(root.resolve())) for line in result.output.splitlines()]


async def test_matches_newest_first(
    grep_registry: ToolRegistry, context: ToolContext, files: Path
) -> None:
    result = await grep(grep_registry, context, pattern="need+le")
    assert result.ok
    assert paths(result, files) == ["src/new.py", "src/mid.ts", "old.py"]


async def test_no_match(grep_registry: ToolRegistry, context: ToolContext, files: Path) -> None:
    result = await grep(grep_registry, context, pattern="haystack")
    assert result == ToolResult(ok=False, output="No matches found.", error="No matches found.")


async def test_include_glob_with_braces(
    grep_registry: ToolRegistry, context: ToolContext, files: Path
) -> None:
    result = await grep(grep_registry, context, pattern="needle", include="*.{ts,js}")
    assert paths(result, files) == ["src/mid.ts"]


async def test_path_and_limit(
    grep_registry: ToolRegistry, context: ToolContext, files: Path
) -> None:
    result = await grep(grep_registry, context, pattern="needle", path="src", limit=1)
    assert paths(result, files) == ["src/new.py"]


async def test_single_file_path(
    grep_registry: ToolRegistry, context: ToolContext, files: Path
) -> None:
    result = await grep(grep_registry, context, pattern="^needle", path="old.py")
    assert paths(result, files) == ["old.py"]


async def test_path_outside_the_workspace(
    grep_registry: ToolRegistry, context: ToolContext, files: Path, tmp_path: Path
) -> None:
    result = await grep(grep_registry, context, pattern="needle", path=str(tmp_path))
    assert not result.ok
    assert "outside the workspace" in (result.error or "")


async def test_bad_regex_is_an_error(
    grep_registry: ToolRegistry, context: ToolContext, files: Path
) -> None:
    result = await grep(grep_registry, context, pattern="(unclosed")
    assert not result.ok
    assert result.error is not None
    assert result.error != "No matches found."


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"pattern": ""}, "pattern must not be empty"),
        ({"limit": 0}, "limit must be greater than zero"),
    ],
)
async def test_invalid_input(
    grep_registry: ToolRegistry,
    context: ToolContext,
    files: Path,
    arguments: dict[str, object],
    message: str,
) -> None:
    result = await grep(grep_registry, context, **{"pattern": "x", **arguments})
    assert result.output == {"status": "invalid_input", "message": message}


def test_expand_braces() -> None:
    assert expand_braces("*.{ts,tsx}") == ["*.ts", "*.tsx"]
    assert expand_braces("{a,b}/*.{c,d}") == ["a/*.c", "a/*.d", "b/*.c", "b/*.d"]
    assert expand_braces("*.py") == ["*.py"]
