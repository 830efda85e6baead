"""Applying parsed patches to a workspace: everything or nothing.

Every operation is first applied in memory, in patch order (a later operation sees an earlier
one's result), so a hunk that does not match fails the patch before any file is touched. Only
then are the new contents written, each to a temporary file beside its target and renamed over
it; if a rename fails midway, the files already replaced are restored. Context is found exactly
first, then ignoring trailing whitespace, then ignoring surrounding whitespace (models often get
indentation of blank or trailing parts wrong); context lines keep the file's own text.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import attrs

from agentd.tools.errors import ToolError
from agentd.tools.patch.parser import AddFile, DeleteFile, FileOp, Hunk
from agentd.tools.workspace import resolve_in_workspace

_PASSES: tuple[Callable[[str], str], ...] = (lambda s: s, str.rstrip, str.strip)
NOTHING_CHANGED = "No file was changed."


class PatchFailed(ToolError):
    """The patch cannot be applied; nothing was changed."""


@attrs.define
class _Doc:
    """A text file as lines, with how it must be written back."""

    lines: list[str]
    crlf: bool = False
    ends_with_newline: bool = True

    @classmethod
    def parse(cls, data: bytes, display: str) -> _Doc:
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise PatchFailed(
                f"{display} is not UTF-8 text (byte {exc.start}); apply_patch edits text files "
                f"only. {NOTHING_CHANGED}"
            ) from None
        crlf = "\r\n" in text
        lines = text.split("\n")
        ends = text.endswith("\n") or not text
        if lines and lines[-1] == "":
            lines.pop()
        if crlf:
            lines = [line[:-1] if line.endswith("\r") else line for line in lines]
        return cls(lines, crlf, ends)

    def encode(self, display: str) -> bytes:
        eol = "\r\n" if self.crlf else "\n"
        text = eol.join(self.lines) + (eol if self.lines and self.ends_with_newline else "")
        try:
            return text.encode("utf-8")
        except UnicodeEncodeError:
            raise PatchFailed(
                f"the new text of {display} has characters that are not valid UTF-8 (lone "
                f"surrogates). {NOTHING_CHANGED}"
            ) from None


@attrs.frozen
class FileChange:
    """One line of the result: ``A``dded, ``M``odified, ``D``eleted (``dest`` when moved)."""

    kind: str
    path: str
    added: int
    removed: int
    dest: str | None = None

    def describe(self) -> str:
        name = f"{self.path} -> {self.dest}" if self.dest else self.path
        return f"{self.kind} {name} (+{self.added} -{self.removed})"


def _seek(lines: Sequence[str], pattern: Sequence[str], start: int, at_eof: bool) -> int | None:
    """Where ``pattern`` occurs in ``lines`` at or after ``start`` (the end first if ``at_eof``)."""
    if not pattern:
        return len(lines)
    size = len(pattern)
    last = len(lines) - size
    if last < start:
        return None
    for norm in _PASSES:
        want = [norm(p) for p in pattern]
        if at_eof and [norm(line) for line in lines[last:]] == want:
            return last
        head = want[0]
        for index in range(start, last + 1):
            if norm(lines[index]) == head and all(
                norm(lines[index + k]) == want[k] for k in range(1, size)
            ):
                return index
    return None


def _describe_hunk(number: int, hunk: Hunk, display: str) -> str:
    where = f" (after '@@ {hunk.anchor}')" if hunk.anchor else ""
    return f"hunk {number} of {display}{where}, patch line {hunk.line}"


def apply_hunks(doc: _Doc, hunks: Sequence[Hunk], display: str) -> tuple[int, int]:
    """Apply ``hunks`` in order to ``doc``; return (added, removed) line counts."""
    edits: list[tuple[int, int, list[str]]] = []
    cursor = 0
    lines = doc.lines
    for number, hunk in enumerate(hunks, 1):
        if hunk.anchor is not None:
            found = _seek(lines, [hunk.anchor], cursor, False)
            if found is None:
                raise PatchFailed(
                    f"{_describe_hunk(number, hunk, display)}: the anchor line "
                    f"{hunk.anchor!r} was not found"
                    + (f" after line {cursor}" if cursor else "")
                    + f". Re-read the file and send the patch again. {NOTHING_CHANGED}"
                )
            cursor = found + 1
        if not hunk.old:
            at = len(lines) if hunk.anchor is None else cursor
            edits.append((at, 0, list(hunk.new)))
            continue
        index = _seek(lines, hunk.old, cursor, hunk.at_eof)
        if index is None:
            shown = "\n".join(f"  {line}" for line in hunk.old[:12])
            more = "\n  ..." if len(hunk.old) > 12 else ""
            raise PatchFailed(
                f"{_describe_hunk(number, hunk, display)}: these lines (context and '-' lines) "
                f"were not found{' at the end of the file' if hunk.at_eof else ''}"
                f"{f' after line {cursor}' if cursor else ''}:\n{shown}{more}\n"
                f"Re-read the file and send the patch again. {NOTHING_CHANGED}"
            )
        # Context lines keep the file's text (a whitespace-tolerant match must not rewrite them).
        new: list[str] = []
        old_at = index
        new_iter = iter(hunk.new)
        for kind in hunk.kinds:
            if kind == " ":
                new.append(lines[old_at])
                next(new_iter)
                old_at += 1
            elif kind == "-":
                old_at += 1
            else:
                new.append(next(new_iter))
        edits.append((index, len(hunk.old), new))
        cursor = index + len(hunk.old)
    added = removed = 0
    for hunk in hunks:
        added += hunk.added
        removed += hunk.removed
    for at, size, new in sorted(edits, key=lambda e: e[0], reverse=True):
        lines[at : at + size] = new
    return added, removed


class _Plan:
    """The workspace as the patch leaves it, in memory: path → document (``None``: absent).

    ``sources`` are texts to use instead of the disk's (an editor's unsaved buffers)."""

    def __init__(self, root: Path, sources: Mapping[Path, str] | None = None) -> None:
        self.root = root.resolve()
        self.sources = sources or {}
        self.docs: dict[Path, _Doc | None] = {}
        self.changes: list[FileChange] = []

    def resolve(self, path: str) -> tuple[Path, str]:
        real = resolve_in_workspace(self.root, path)
        return real, str(real.relative_to(self.root))

    def load(self, real: Path, display: str) -> _Doc | None:
        if real not in self.docs:
            if real.is_dir():
                raise PatchFailed(f"{display} is a directory. {NOTHING_CHANGED}")
            source = self.sources.get(real)
            if source is not None:
                data = source.encode("utf-8", errors="surrogatepass")
                self.docs[real] = _Doc.parse(data, display)
                return self.docs[real]
            try:
                data = real.read_bytes()
            except FileNotFoundError:
                self.docs[real] = None
            except OSError as exc:
                raise PatchFailed(
                    f"cannot read {display}: {exc.strerror or exc}. {NOTHING_CHANGED}"
                ) from None
            else:
                self.docs[real] = _Doc.parse(data, display)
        return self.docs[real]

    def apply(self, op: FileOp) -> None:
        real, display = self.resolve(op.path)
        doc = self.load(real, display)
        if isinstance(op, AddFile):
            if doc is not None:
                raise PatchFailed(
                    f"cannot add {display}: it already exists (use '*** Update File', or "
                    f"'*** Delete File' then '*** Add File'). {NOTHING_CHANGED}"
                )
            self.docs[real] = _Doc(list(op.lines))
            self.changes.append(FileChange("A", display, len(op.lines), 0))
            return
        if doc is None:
            verb = "delete" if isinstance(op, DeleteFile) else "update"
            raise PatchFailed(f"cannot {verb} {display}: no such file. {NOTHING_CHANGED}")
        if isinstance(op, DeleteFile):
            self.docs[real] = None
            self.changes.append(FileChange("D", display, 0, len(doc.lines)))
            return
        added, removed = apply_hunks(doc, op.hunks, display)
        dest_display = None
        if op.move_to is not None:
            dest, dest_display = self.resolve(op.move_to)
            if dest != real:
                if self.load(dest, dest_display) is not None:
                    raise PatchFailed(
                        f"cannot move {display} to {dest_display}: it already exists. "
                        f"{NOTHING_CHANGED}"
                    )
                self.docs[dest] = doc
                self.docs[real] = None
        self.changes.append(FileChange("M", display, added, removed, dest_display))


def _write_all(final: dict[Path, bytes | None], root: Path) -> None:
    """Replace every file (or remove it); on failure restore those already replaced."""
    originals: dict[Path, bytes | None] = {}
    staged: dict[Path, str] = {}
    done: list[Path] = []
    try:
        for path, data in final.items():
            try:
                originals[path] = path.read_bytes()
            except FileNotFoundError:
                originals[path] = None
            if data is None:
                continue
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, temp = tempfile.mkstemp(prefix=".agentd-patch-", dir=path.parent)
            staged[path] = temp
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
            with contextlib.suppress(OSError):
                os.chmod(
                    temp, path.stat().st_mode & 0o7777 if originals[path] is not None else 0o644
                )
        for path, data in final.items():
            if data is None:
                if originals[path] is not None:
                    path.unlink()
            else:
                os.replace(staged.pop(path), path)
            done.append(path)
    except OSError as exc:
        for path in reversed(done):
            with contextlib.suppress(OSError):
                before = originals[path]
                if before is None:
                    path.unlink(missing_ok=True)
                else:
                    path.write_bytes(before)
        name = exc.filename and os.path.relpath(exc.filename, root)
        raise PatchFailed(
            f"writing {name or 'a file'} failed: {exc.strerror or exc}. {NOTHING_CHANGED}"
        ) from None
    finally:
        for temp in staged.values():
            with contextlib.suppress(OSError):
                os.unlink(temp)


def patch_paths(root: Path, ops: Sequence[FileOp]) -> list[Path]:
    """The files ``ops`` read, resolved as the plan resolves them (outside paths left out:
    the plan reports them)."""
    base = root.resolve()
    found: list[Path] = []
    for op in ops:
        for path in (op.path, getattr(op, "move_to", None)):
            if path is None:
                continue
            try:
                found.append(resolve_in_workspace(base, path))
            except ToolError:
                continue
    return list(dict.fromkeys(found))


def plan_ops(
    root: Path, ops: Sequence[FileOp], sources: Mapping[Path, str] | None = None
) -> tuple[dict[Path, bytes | None], list[FileChange]]:
    """What ``ops`` make of the workspace at ``root``, nothing written yet: every touched
    path's new content (``None``: removed), and what changed. ``PatchFailed`` if it does not
    apply."""
    plan = _Plan(root, sources)
    for op in ops:
        plan.apply(op)
    final = {
        path: None if doc is None else doc.encode(str(path.relative_to(plan.root)))
        for path, doc in plan.docs.items()
    }
    return final, plan.changes


def write_files(root: Path, final: Mapping[Path, bytes | None]) -> None:
    """Write ``plan_ops``'s result: all of it, or (restoring what was replaced) none."""
    _write_all(dict(final), root.resolve())


def apply_ops(root: Path, ops: Sequence[FileOp]) -> list[FileChange]:
    """Apply ``ops`` to the workspace at ``root`` atomically; return what changed."""
    final, changes = plan_ops(root, ops)
    write_files(root, final)
    return changes
