"""Token counts for the context estimate: exact with tiktoken where the model's encoding is known.

Why it is shaped this way:

* **Nothing is downloaded, ever.** ``tiktoken.get_encoding`` fetches its tables over HTTP without a
  timeout (the dependency study, §3). The two tables ship as package data
  (``agentd/data/*.tiktoken.gz``); we check the sha256 of the decompressed bytes, parse them, and
  build ``tiktoken.Encoding`` ourselves. The split patterns and special tokens are copied from
  ``tiktoken_ext.openai_public`` (tiktoken 0.14) rather than obtained by calling its constructors
  with the loader swapped: swapping is a process-wide monkeypatch that races any other tiktoken
  user, and a pattern is as much part of an encoding's definition as its hashed ranks. A test
  compares the copies with the installed tiktoken, so an upgrade that changed them fails CI
  instead of miscounting.
* **Lazy.** Importing this module does not import tiktoken. Each encoding is built on first use
  (o200k 0.33 s and +80 MB RSS, cl100k 0.16 s and +44 MB), once per counter, under a
  per-encoding lock; ``count_async`` builds it in a worker thread so the event loop keeps
  answering.
* **Never raises** on any ``str``: special-token strings count as ordinary text, lone surrogates
  count as U+FFFD, a table that fails to load or verify falls back to :func:`estimate` (logged
  once), and tiktoken's regex limit on ~1M-character whitespace runs is met by counting in chunks.

Which encoding (:func:`encoding_for`): OpenAI model names only, by the rules in ``_RULES`` (an
optional ``openai/`` or ``azure/`` vendor prefix and an ``ft:`` fine-tune prefix are allowed).
Anything else (Claude, Gemini, Llama, a router name we do not know) has no known encoding: it is
counted with ``o200k_base`` as an approximation (closer than ``len/4`` on JSON and CJK text, which
``len/4`` undercounts by 40-60%) and reported as ``source_for(model) == "estimate"``.
"""

from __future__ import annotations

import asyncio
import binascii
import gzip
import hashlib
import logging
import math
import re
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Final, Literal

if TYPE_CHECKING:
    from tiktoken import Encoding

__all__ = [
    "DATA_DIR",
    "SHA256",
    "THREAD_THRESHOLD",
    "Source",
    "TokenCounter",
    "count",
    "count_async",
    "encoding_for",
    "estimate",
    "is_ready",
    "preload",
    "source_for",
]

Source = Literal["tiktoken", "estimate"]

O200K: Final = "o200k_base"
CL100K: Final = "cl100k_base"
DATA_DIR: Final = Path(__file__).resolve().parent / "data"
#: sha256 of the *decompressed* ``.tiktoken`` files (the same hashes tiktoken itself checks).
SHA256: Final[Mapping[str, str]] = {
    O200K: "446a9538cb6c348e3516120d7c08b09f57c36495e2acfffe59a5bf8b0cfb1a2d",
    CL100K: "223921b76ee99bde995b7ff738513eef100fb51d18c93597a113bcffe865b2a7",
}
#: Texts longer than this (in characters, so at least 64 KiB of UTF-8) are counted in a worker
#: thread by ``count_async``: 1 MB takes ~70 ms and tiktoken releases the GIL while it works.
THREAD_THRESHOLD: Final = 64 * 1024

_ENDOFTEXT, _ENDOFPROMPT = "<|endoftext|>", "<|endofprompt|>"
_PATTERNS: Final[Mapping[str, str]] = {
    O200K: "|".join(
        [
            r"""[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?""",
            r"""[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?""",
            r"""\p{N}{1,3}""",
            r""" ?[^\s\p{L}\p{N}]+[\r\n/]*""",
            r"""\s*[\r\n]+""",
            r"""\s+(?!\S)""",
            r"""\s+""",
        ]
    ),
    CL100K: r"""'(?i:[sdmt]|ll|ve|re)|[^\r\n\p{L}\p{N}]?+\p{L}++|\p{N}{1,3}+| ?[^\s\p{L}\p{N}]++[\r\n]*+|\s++$|\s*[\r\n]|\s+(?!\S)|\s""",  # noqa: E501
}
_SPECIAL_TOKENS: Final[Mapping[str, Mapping[str, int]]] = {
    O200K: {_ENDOFTEXT: 199999, _ENDOFPROMPT: 200018},
    CL100K: {
        _ENDOFTEXT: 100257,
        "<|fim_prefix|>": 100258,
        "<|fim_middle|>": 100259,
        "<|fim_suffix|>": 100260,
        _ENDOFPROMPT: 100276,
    },
}

# First match wins, so the o200k families come before the bare ``gpt-4`` of cl100k. Names end at a
# ``-``, ``.`` or ``:`` (dated snapshots, ``gpt-5.1``, fine-tune suffixes) or at the end, so that
# ``o1`` does not catch ``o1x`` and a future ``gpt-4.9`` is not taken for cl100k's ``gpt-4``.
# ``gpt-oss`` uses o200k_harmony, which differs from o200k_base only in special tokens, which we
# count as text anyway.
_RULES: Final = (
    (
        re.compile(
            r"(?:gpt-4o|chatgpt-4o|gpt-4\.1|gpt-4\.5|gpt-5|gpt-oss|o1|o3|o4|codex-mini)(?:[-.:]|$)"
        ),
        O200K,
    ),
    (
        re.compile(r"(?:gpt-4|gpt-3\.5|gpt-35)(?:[-:]|$)|text-embedding-|(?:davinci|babbage)-002"),
        CL100K,
    ),
)
_VENDOR = re.compile(r"(?:openrouter/)?(?:openai|azure)/")
_WS = re.compile(r"\s+")
# o200k's regex gives up ("Max stack size exceeded for backtracking") on a run of ~1M horizontal
# whitespace characters; chunks this size cannot hold such a run.
_CHUNK: Final = 256 * 1024

log = logging.getLogger(__name__)


def estimate(text: str) -> int:
    """The reference's heuristic, ``ceil(len(collapse_ws(text)) / 4)``: the fallback count.

    Used when no encoding fits or the bundled tables fail to load. Against exact o200k counts it
    is within 10% on prose and code but -50% on JSON and -63% on CJK (``bench/tokens.py``), which
    is why it is only the fallback.
    """
    return math.ceil(len(_WS.sub(" ", text).strip()) / 4)


def encoding_for(model: str | None) -> str | None:
    """The tiktoken encoding an OpenAI model uses, or None when the model is not known to use one.

    Pure name matching: never loads anything.
    """
    if not model:
        return None
    name = model.strip().lower()
    if vendor := _VENDOR.match(name):
        name = name[vendor.end() :]
    name = name.removeprefix("ft:")
    for pattern, encoding in _RULES:
        if pattern.match(name):
            return encoding
    return None


class TokenCounter:
    """Counts tokens with the bundled encodings; one per process is enough (see module functions).

    ``default_encoding`` is used to approximate models with no known encoding (None: use
    :func:`estimate` for them). ``data_dir`` and ``sha256`` exist for tests.
    """

    def __init__(
        self,
        *,
        default_encoding: str | None = O200K,
        data_dir: Path = DATA_DIR,
        sha256: Mapping[str, str] = SHA256,
        thread_threshold: int = THREAD_THRESHOLD,
    ) -> None:
        self.default_encoding = default_encoding
        self.thread_threshold = thread_threshold
        self._data_dir = data_dir
        self._sha256 = dict(sha256)
        self._locks = {name: threading.Lock() for name in _PATTERNS}
        self._loaded: dict[str, Encoding | None] = {}
        self._warned = False

    def encoding_for(self, model: str | None) -> str | None:
        """See :func:`encoding_for`."""
        return encoding_for(model)

    def source_for(self, model: str | None) -> Source:
        """``tiktoken`` when counts for ``model`` are exact, else ``estimate``.

        Exact means: the model's own encoding is known and its table loaded and verified. Builds
        the encoding if needed, which blocks for up to ~0.5 s once; use :meth:`preload` from async
        code.
        """
        name = encoding_for(model)
        return "tiktoken" if name is not None and self._encoding(name) is not None else "estimate"

    async def preload(self, model: str | None) -> Source:
        """Build the encoding ``model`` needs in a worker thread; returns :meth:`source_for`."""
        return await asyncio.to_thread(self.source_for, model)

    def count(self, text: str, model: str | None) -> int:
        """Tokens in ``text`` for ``model``; never raises. Blocks ~70 ms a MB, and once to load."""
        name = self._encoding_name(model)
        enc = None if name is None else self._encoding(name)
        if enc is None:
            return estimate(text)
        try:
            try:
                return _encoded_length(enc, text)
            except UnicodeEncodeError:
                # Lone surrogates cannot be UTF-8 encoded (tiktoken 0.14 repairs them itself; this
                # does not rely on it): pairs are joined, the rest become U+FFFD.
                text = text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
                return _encoded_length(enc, text)
        except Exception:  # never raise into the caller's turn; the estimate is good enough
            if not self._warned:
                self._warned = True
                log.warning("token count failed; using the len/4 estimate", exc_info=True)
            return estimate(text)

    async def count_async(self, text: str, model: str | None) -> int:
        """:meth:`count` without blocking the event loop on large texts or a first load."""
        name = self._encoding_name(model)
        if len(text) > self.thread_threshold or (name is not None and name not in self._loaded):
            return await asyncio.to_thread(self.count, text, model)
        return self.count(text, model)

    def is_ready(self, model: str | None) -> bool:
        """True when ``model`` has a known encoding that is already built (counting it costs
        no load): the core counts exactly only then, and estimates meanwhile."""
        name = encoding_for(model)
        return name is not None and self._loaded.get(name) is not None

    def _encoding_name(self, model: str | None) -> str | None:
        return encoding_for(model) or self.default_encoding

    def _encoding(self, name: str) -> Encoding | None:
        """The built encoding, or None if it is unknown or failed to load (cached either way)."""
        try:
            return self._loaded[name]
        except KeyError:
            pass
        lock = self._locks.get(name)
        if lock is None:
            return None
        with lock:
            if name not in self._loaded:
                self._loaded[name] = self._load(name)
            return self._loaded[name]

    def _load(self, name: str) -> Encoding | None:
        path = self._data_dir / f"{name}.tiktoken.gz"
        try:
            raw = gzip.decompress(path.read_bytes())
            digest = hashlib.sha256(raw).hexdigest()
            if digest != self._sha256.get(name):
                raise ValueError(f"sha256 {digest} does not match the expected hash")
            fields = raw.split()  # b"<base64 token> <rank>" per line
            ranks = dict(
                zip(map(binascii.a2b_base64, fields[0::2]), map(int, fields[1::2]), strict=True)
            )
            import tiktoken  # the costly import, deferred to first use

            return tiktoken.Encoding(
                name,
                pat_str=_PATTERNS[name],
                mergeable_ranks=ranks,
                special_tokens=dict(_SPECIAL_TOKENS[name]),
            )
        except Exception as exc:
            log.warning(
                "%s unavailable (%s: %s); counting with the len/4 estimate",
                path,
                type(exc).__name__,
                exc,
            )
            return None


def _encoded_length(enc: Encoding, text: str) -> int:
    try:
        return len(enc.encode(text, disallowed_special=()))
    except ValueError:
        if len(text) <= _CHUNK:
            raise
    # Regex limit on a huge whitespace run: count in chunks (off by at most a token per cut).
    return sum(
        len(enc.encode(text[i : i + _CHUNK], disallowed_special=()))
        for i in range(0, len(text), _CHUNK)
    )


_default = TokenCounter()


def count(text: str, model: str | None) -> int:
    """Tokens in ``text`` for ``model`` with the process-wide :class:`TokenCounter`."""
    return _default.count(text, model)


async def count_async(text: str, model: str | None) -> int:
    """:func:`count` off the event loop for texts over :data:`THREAD_THRESHOLD` or a first load."""
    return await _default.count_async(text, model)


def source_for(model: str | None) -> Source:
    """``tiktoken`` if counts for ``model`` are exact, else ``estimate`` (may load, see class)."""
    return _default.source_for(model)


def is_ready(model: str | None) -> bool:
    """See :meth:`TokenCounter.is_ready` (the process-wide counter)."""
    return _default.is_ready(model)


async def preload(model: str | None) -> Source:
    """Build ``model``'s encoding in a worker thread, so later counts do not stall the loop."""
    return await _default.preload(model)
