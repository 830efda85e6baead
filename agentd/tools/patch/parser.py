"""Parsing patches into file operations, with line numbers in every complaint.

Two inputs give the same operations: the ``*** Begin Patch`` text the model writes as a function
argument, and the operation object of OpenAI's native tool (``{type: create_file|update_file|
delete_file, path, diff}``, the diff being the "V4A" body of one file: ``@@`` sections of
`` ``/``-``/``+`` lines, or only ``+`` lines for a new file). Parsing is pure and linear in the
input; anything malformed raises ``PatchError`` with a message the model can act on.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import attrs

BEGIN = "*** Begin Patch"
END = "*** End Patch"
ADD = "*** Add File: "
DELETE = "*** Delete File: "
UPDATE = "*** Update File: "
MOVE = "*** Move to: "
EOF_MARK = "*** End of File"
#: Bound on a patch's size: a model never needs more, and parsing stays cheap.
MAX_PATCH_CHARS = 16 * 1024 * 1024


class PatchError(ValueError):
    """The patch is malformed; the message says where and what is expected."""


@attrs.frozen
class Hunk:
    """One ``@@`` section: ``old`` lines (context and removals) become ``new`` lines."""

    anchor: str | None
    old: tuple[str, ...]
    new: tuple[str, ...]
    #: ``*** End of File``: the old lines must end the file.
    at_eof: bool = False
    #: 1-based line of the patch (or diff) where the hunk starts, for messages.
    line: int = 0

    #: Each line's prefix (`` ``, ``+``, ``-``), in order.
    kinds: tuple[str, ...] = ()

    @property
    def added(self) -> int:
        return self.kinds.count("+")

    @property
    def removed(self) -> int:
        return self.kinds.count("-")


@attrs.frozen
class AddFile:
    path: str
    lines: tuple[str, ...]


@attrs.frozen
class DeleteFile:
    path: str


@attrs.frozen
class UpdateFile:
    path: str
    hunks: tuple[Hunk, ...]
    move_to: str | None = None


FileOp = AddFile | DeleteFile | UpdateFile


def _lines(text: str) -> list[str]:
    if len(text) > MAX_PATCH_CHARS:
        raise PatchError(f"patch too large ({len(text)} characters; at most {MAX_PATCH_CHARS})")
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return [line[:-1] if line.endswith("\r") else line for line in lines]


def _strip_heredoc(lines: list[str]) -> list[str]:
    """Accept the patch wrapped in a shell heredoc (``<<'EOF'`` … ``EOF``), as models often do."""
    if len(lines) >= 2 and lines[0].strip().startswith("<<") and lines[-1].strip() == "EOF":
        return lines[1:-1]
    return lines


def _path(line: str, prefix: str, number: int) -> str:
    path = line[len(prefix) :].strip()
    if not path:
        raise PatchError(f"line {number}: missing file path after {prefix.strip()!r}")
    return path


def _is_header(line: str) -> bool:
    return line.startswith(("*** Add File:", "*** Delete File:", "*** Update File:", END))


def parse_hunks(lines: Sequence[str], first_line: int, path: str) -> tuple[Hunk, ...]:
    """The ``@@`` sections of one file's update; ``first_line`` numbers ``lines[0]``."""
    hunks: list[Hunk] = []
    old: list[str] = []
    new: list[str] = []
    kinds: list[str] = []
    anchor: str | None = None
    start = first_line
    at_eof = False
    started = False  # a section is open (by @@ or by a first change line)

    def close(number: int) -> None:
        nonlocal old, new, kinds, anchor, at_eof, started
        if started:
            if not kinds or all(kind == " " for kind in kinds):
                raise PatchError(
                    f"line {start}: hunk {len(hunks) + 1} of {path} changes nothing "
                    "(it needs lines starting with '+' or '-')"
                )
            hunks.append(Hunk(anchor, tuple(old), tuple(new), at_eof, start, tuple(kinds)))
        old, new, kinds, anchor, at_eof, started = [], [], [], None, False, False

    for offset, line in enumerate(lines):
        number = first_line + offset
        if line.startswith("@@"):
            close(number)
            started = True
            start = number
            text = line[2:].strip()
            if text.endswith("@@"):  # unified-diff style "@@ -1,3 +1,4 @@": no usable anchor
                text = ""
            anchor = text or None
            continue
        if line == EOF_MARK:
            if not started:
                raise PatchError(f"line {number}: {EOF_MARK!r} outside a hunk")
            at_eof = True
            continue
        if at_eof:
            raise PatchError(f"line {number}: nothing may follow {EOF_MARK!r} in a hunk")
        kind, body = (line[:1], line[1:]) if line else (" ", "")
        if kind not in (" ", "+", "-"):
            raise PatchError(
                f"line {number}: unexpected line in the update of {path}: {line[:80]!r} "
                "(hunk lines start with ' ', '+' or '-'; sections with '@@')"
            )
        if not started:
            started = True
            start = number
        kinds.append(kind)
        if kind != "+":
            old.append(body)
        if kind != "-":
            new.append(body)
    close(first_line + len(lines))
    if not hunks:
        raise PatchError(f"line {first_line}: the update of {path} has no hunks")
    return tuple(hunks)


def parse_patch(text: str) -> tuple[FileOp, ...]:
    """Parse ``*** Begin Patch`` … ``*** End Patch`` text into file operations."""
    lines = _strip_heredoc(_lines(text))
    while lines and not lines[0].strip():
        lines.pop(0)
    while lines and not lines[-1].strip():
        lines.pop()
    if not lines or lines[0].strip() != BEGIN:
        raise PatchError(f"the first line of the patch must be {BEGIN!r}")
    if len(lines) < 2 or lines[-1].strip() != END:
        raise PatchError(f"the last line of the patch must be {END!r}")
    ops: list[FileOp] = []
    index = 1
    last = len(lines) - 1
    while index < last:
        line = lines[index]
        number = index + 1
        if line.startswith(ADD.rstrip()):
            path = _path(line, ADD.rstrip(), number)
            index += 1
            body: list[str] = []
            while index < last and not _is_header(lines[index]):
                row = lines[index]
                if not row.startswith("+"):
                    raise PatchError(
                        f"line {index + 1}: every line of an added file starts with '+' "
                        f"({path}): {row[:80]!r}"
                    )
                body.append(row[1:])
                index += 1
            ops.append(AddFile(path, tuple(body)))
        elif line.startswith(DELETE.rstrip()):
            ops.append(DeleteFile(_path(line, DELETE.rstrip(), number)))
            index += 1
        elif line.startswith(UPDATE.rstrip()):
            path = _path(line, UPDATE.rstrip(), number)
            index += 1
            move_to = None
            if index < last and lines[index].startswith(MOVE.rstrip()):
                move_to = _path(lines[index], MOVE.rstrip(), index + 1)
                index += 1
            first = index
            while index < last and not _is_header(lines[index]):
                index += 1
            if first == index and move_to is not None:
                ops.append(UpdateFile(path, (), move_to))  # a pure rename
            else:
                ops.append(
                    UpdateFile(path, parse_hunks(lines[first:index], first + 1, path), move_to)
                )
        elif not line.strip():
            index += 1
        else:
            raise PatchError(
                f"line {number}: expected '*** Add File: ', '*** Delete File: ' or "
                f"'*** Update File: ', got {line[:80]!r}"
            )
    if not ops:
        raise PatchError("the patch changes no file")
    return tuple(ops)


def parse_operation(operation: Mapping[str, Any]) -> FileOp:
    """One native operation (``{type, path, diff}``) as a file operation."""
    kind = operation.get("type")
    path = operation.get("path")
    diff = operation.get("diff")
    if not isinstance(path, str) or not path.strip():
        raise PatchError("the operation needs a non-empty 'path'")
    if kind == "delete_file":
        return DeleteFile(path)
    if not isinstance(diff, str):
        raise PatchError(f"a {kind} operation needs a 'diff' string")
    lines = _lines(diff)
    if kind == "create_file":
        body = []
        for number, row in enumerate(lines, 1):
            if not row.startswith("+"):
                raise PatchError(
                    f"diff line {number}: every line of a created file starts with '+': "
                    f"{row[:80]!r}"
                )
            body.append(row[1:])
        return AddFile(path, tuple(body))
    if kind == "update_file":
        return UpdateFile(path, parse_hunks(lines, 1, path))
    raise PatchError("operation 'type' must be create_file, update_file or delete_file")
