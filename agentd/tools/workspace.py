"""Confinement of tool paths to the session's workspace root.

File tools take paths from the model; resolving symlinks and ``..`` *before* the containment check
is what stops ``link -> /etc`` or ``../../`` from reaching outside the workspace.
"""

from __future__ import annotations

from pathlib import Path

from agentd.tools.errors import ToolError


class WorkspaceError(ToolError):
    """A path lies outside the workspace root or cannot be resolved."""


def resolve_in_workspace(root: Path, path: str) -> Path:
    """Resolve ``path`` (relative to ``root``, or absolute inside it) to a real path in ``root``.

    Symlinks are followed (``strict=False``: the path need not exist yet); the result is the
    resolved path, so callers open what was checked.
    """
    try:
        real_root = root.resolve(strict=False)
        candidate = Path(path)
        if not candidate.is_absolute():
            candidate = real_root / candidate
        resolved = candidate.resolve(strict=False)
    except (OSError, ValueError, RuntimeError) as exc:
        # ValueError: embedded NUL byte; RuntimeError: symlink loop on older Pythons.
        raise WorkspaceError(f"invalid path {path!r}: {exc}") from exc
    if not resolved.is_relative_to(real_root):
        raise WorkspaceError(f"path is outside the workspace: {path} (workspace: {real_root})")
    return resolved
