"""Workspace confinement: relative, absolute, ``..`` and symlinks."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

import pytest

from agentd.tools.workspace import WorkspaceError, resolve_in_workspace


def test_relative_path_resolves_against_root(workspace: Path) -> None:
    assert resolve_in_workspace(workspace, "a/b.txt") == workspace.resolve() / "a" / "b.txt"


def test_root_itself_is_inside(workspace: Path) -> None:
    assert resolve_in_workspace(workspace, ".") == workspace.resolve()
    assert resolve_in_workspace(workspace, str(workspace)) == workspace.resolve()


def test_absolute_path_inside_is_allowed(workspace: Path) -> None:
    target = workspace / "f.txt"
    assert resolve_in_workspace(workspace, str(target)) == target.resolve()


def test_absolute_path_outside_is_refused(workspace: Path) -> None:
    with pytest.raises(WorkspaceError, match="path is outside the workspace: /etc/passwd"):
        resolve_in_workspace(workspace, "/etc/passwd")


def test_dotdot_escape_is_refused(workspace: Path) -> None:
    with pytest.raises(WorkspaceError, match="outside the workspace"):
        resolve_in_workspace(workspace, "a/../../x")


def test_dotdot_that_stays_inside_is_allowed(workspace: Path) -> None:
    assert resolve_in_workspace(workspace, "a/../b") == workspace.resolve() / "b"


def test_sibling_with_common_prefix_is_outside(workspace: Path) -> None:
    sibling = workspace.parent / (workspace.name + "2")
    sibling.mkdir()
    with pytest.raises(WorkspaceError):
        resolve_in_workspace(workspace, str(sibling))


def test_symlink_escape_is_refused(workspace: Path, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (workspace / "link").symlink_to(outside)
    with pytest.raises(WorkspaceError, match="outside the workspace"):
        resolve_in_workspace(workspace, "link/secret.txt")


def test_symlink_inside_is_followed(workspace: Path) -> None:
    (workspace / "real").mkdir()
    (workspace / "alias").symlink_to(workspace / "real")
    assert resolve_in_workspace(workspace, "alias/x") == workspace.resolve() / "real" / "x"


def test_symlinked_root_accepts_paths_through_either_name(tmp_path: Path, workspace: Path) -> None:
    alias = tmp_path / "alias-root"
    alias.symlink_to(workspace)
    assert resolve_in_workspace(alias, str(workspace / "x")) == workspace.resolve() / "x"
    assert resolve_in_workspace(alias, "x") == workspace.resolve() / "x"


def test_nul_byte_is_a_workspace_error(workspace: Path) -> None:
    with pytest.raises(WorkspaceError, match="invalid path"):
        resolve_in_workspace(workspace, "a\0b")


def test_symlink_loop_is_not_a_crash(workspace: Path) -> None:
    os.symlink("loop", workspace / "loop")
    # Either resolved (inside) or refused cleanly; never an unexpected exception.
    with contextlib.suppress(WorkspaceError):
        resolve_in_workspace(workspace, "loop")
