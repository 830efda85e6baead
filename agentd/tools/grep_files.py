"""``grep_files``: which workspace files match a regular expression, newest first.

Uses ripgrep when it is installed (fast, honours ``.gitignore``), else a pure-Python walk with
the same output, so the tool works on any machine. Only file paths are returned: the model reads
the interesting ones with ``read_file``.
"""

from __future__ import annotations

import asyncio
import fnmatch
import os
import re
import shutil
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from agentd.tools.base import ToolContext, ToolResult
from agentd.tools.errors import InvalidToolInput, ToolError
from agentd.tools.process import run_process
from agentd.tools.workspace import resolve_in_workspace

DEFAULT_LIMIT = 100
MAX_LIMIT = 2000
TIMEOUT_S = 30.0
NO_MATCHES = "No matches found."
_BINARY_PROBE = 8192


def expand_braces(pattern: str) -> list[str]:
    """``*.{ts,tsx}`` -> ``["*.ts", "*.tsx"]`` (ripgrep globs allow braces; fnmatch does not)."""
    match = re.search(r"\{([^{}]*)\}", pattern)
    if match is None:
        return [pattern]
    head, tail = pattern[: match.start()], pattern[match.end() :]
    return [
        expanded
        for option in match.group(1).split(",")
        for expanded in expand_braces(head + option + tail)
    ]


def _glob_matcher(include: str | None) -> Callable[[str], bool]:
    if not include:
        return lambda relative: True
    negate = include.startswith("!")
    globs = expand_braces(include[1:] if negate else include)

    def matches(relative: str) -> bool:
        name = relative.rsplit("/", 1)[-1]
        hit = any(fnmatch.fnmatchcase(relative if "/" in g else name, g) for g in globs)
        return hit != negate

    return matches


def _file_matches(path: Path, regex: re.Pattern[str]) -> bool:
    try:
        data = path.read_bytes()
    except OSError:
        return False
    if b"\0" in data[:_BINARY_PROBE]:
        return False  # Binary, skipped as ripgrep does by default.
    return regex.search(data.decode("utf-8", errors="replace")) is not None


def _python_search(
    regex: re.Pattern[str], include: str | None, root: Path, stop: threading.Event
) -> list[Path]:
    """The fallback: walk ``root`` (hidden entries and symlinks skipped), newest match first."""
    deadline = time.monotonic() + TIMEOUT_S
    wanted = _glob_matcher(include)
    found: list[tuple[float, Path]] = []
    if root.is_file():
        candidates = [(root, root.name)]
    else:
        candidates = []
        for dirpath, dirnames, filenames in os.walk(root):
            dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
            base = Path(dirpath)
            relative_dir = base.relative_to(root).as_posix()
            for filename in sorted(filenames):
                if filename.startswith("."):
                    continue
                relative = filename if relative_dir == "." else f"{relative_dir}/{filename}"
                candidates.append((base / filename, relative))
    for path, relative in candidates:
        if stop.is_set():
            return []
        if time.monotonic() > deadline:
            raise ToolError(f"grep timed out after {TIMEOUT_S:g} seconds")
        if path.is_symlink() or not wanted(relative):
            continue
        if _file_matches(path, regex):
            found.append((path.stat().st_mtime, path))
    found.sort(key=lambda item: item[0], reverse=True)
    return [path for _, path in found]


async def _ripgrep(
    rg: str, pattern: str, include: str | None, root: Path, context: ToolContext
) -> list[str]:
    argv = [rg, "--files-with-matches", "--sortr=modified", "--no-messages", "--regexp", pattern]
    if include:
        argv += ["--glob", include]
    argv += ["--", str(root)]
    result = await run_process(
        argv, cwd=context.workspace_root, timeout_s=min(TIMEOUT_S, context.max_timeout_s)
    )
    if result.timed_out:
        raise ToolError(f"rg timed out after {TIMEOUT_S:g} seconds")
    if result.exit_code == 1:
        return []
    if result.exit_code != 0:
        raise ToolError(f"rg failed: {result.stderr.strip() or result.exit_code}")
    return [line for line in result.stdout.splitlines() if line]


class GrepFilesTool:
    """Finds workspace files whose contents match a pattern."""

    name = "grep_files"
    description = (
        "Finds files whose contents match the pattern and lists them by modification time "
        "(newest first). Searches the workspace root unless `path` is given."
    )
    input_schema: Mapping[str, Any] = {
        "type": "object",
        "properties": {
            "pattern": {
                "type": "string",
                "description": "Regular expression pattern to search for.",
            },
            "include": {
                "type": "string",
                "description": (
                    'Optional glob that limits which files are searched (e.g. "*.rs" or '
                    '"*.{ts,tsx}").'
                ),
            },
            "path": {
                "type": "string",
                "description": "Directory or file to search. Defaults to the workspace root.",
            },
            "limit": {
                "type": "integer",
                "description": f"Maximum number of file paths to return (default {DEFAULT_LIMIT}).",
            },
        },
        "required": ["pattern"],
        "additionalProperties": False,
    }
    mutates = False

    def __init__(self, *, use_ripgrep: bool = True) -> None:
        #: False forces the pure-Python search (tests, or an ``rg`` that misbehaves).
        self.use_ripgrep = use_ripgrep

    async def run(self, arguments: Mapping[str, Any], context: ToolContext) -> ToolResult:
        pattern: str = arguments["pattern"]
        include: str | None = arguments.get("include") or None
        limit: int = min(arguments.get("limit", DEFAULT_LIMIT), MAX_LIMIT)
        if not pattern:
            raise InvalidToolInput("pattern must not be empty")
        if limit < 1:
            raise InvalidToolInput("limit must be greater than zero")
        root = resolve_in_workspace(context.workspace_root, arguments.get("path", "."))
        if not root.exists():
            raise ToolError(f"path not found: {arguments.get('path', '.')}")
        rg = shutil.which("rg") if self.use_ripgrep else None
        if rg is not None:
            paths = await _ripgrep(rg, pattern, include, root, context)
        else:
            paths = [str(p) for p in await self._search_python(pattern, include, root)]
        if not paths:
            return ToolResult(ok=False, output=NO_MATCHES, error=NO_MATCHES)
        return ToolResult(ok=True, output="\n".join(paths[:limit]))

    async def _search_python(self, pattern: str, include: str | None, root: Path) -> list[Path]:
        try:
            regex = re.compile(pattern, re.MULTILINE)
        except re.error as exc:
            raise ToolError(f"invalid regular expression: {exc}") from exc
        stop = threading.Event()
        try:
            return await asyncio.to_thread(_python_search, regex, include, root, stop)
        except asyncio.CancelledError:
            stop.set()  # Let the worker thread give up instead of walking on.
            raise
