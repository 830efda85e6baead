"""Lazy import, the bundled tables' verification and fallback, and the no-download guarantee."""

from __future__ import annotations

import gzip
import logging
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from agentd import tokens
from agentd.tokens import DATA_DIR, SHA256, TokenCounter, estimate

TEXT = '{"path": "src/main.py", "lines": [1, 2, 3]} — 東京'


def run_python(code: str) -> str:
    result = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return result.stdout


def test_import_does_not_load_tiktoken() -> None:
    out = run_python(
        """
        import sys
        import agentd.tokens as t
        assert t.encoding_for("gpt-4o") == "o200k_base"
        print("tiktoken" in sys.modules)
        t.count("hello", "gpt-4o")
        print("tiktoken" in sys.modules)
        """
    )
    assert out.split() == ["False", "True"]


def test_bundled_files_are_package_data() -> None:
    for name in SHA256:
        assert (DATA_DIR / f"{name}.tiktoken.gz").is_file()


def test_each_encoding_is_built_once(monkeypatch: pytest.MonkeyPatch) -> None:
    counter = TokenCounter()
    loads: list[str] = []
    real = counter._load

    def spy(name: str) -> Any:
        loads.append(name)
        return real(name)

    monkeypatch.setattr(counter, "_load", spy)
    for _ in range(3):
        counter.count("x", "gpt-4")
        counter.count("x", "gpt-3.5-turbo")
    assert loads == ["cl100k_base"]


def test_concurrent_first_use_builds_once(monkeypatch: pytest.MonkeyPatch) -> None:
    from concurrent.futures import ThreadPoolExecutor

    counter = TokenCounter()
    loads: list[str] = []
    real = counter._load

    def spy(name: str) -> Any:
        loads.append(name)
        return real(name)

    monkeypatch.setattr(counter, "_load", spy)
    with ThreadPoolExecutor(8) as pool:
        counts = list(pool.map(lambda _: counter.count("hello world", "gpt-4"), range(16)))
    assert counts == [2] * 16
    assert loads == ["cl100k_base"]


def _assert_falls_back(counter: TokenCounter, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="agentd.tokens"):
        for _ in range(3):
            assert counter.count(TEXT, "gpt-4o") == estimate(TEXT)
        assert counter.source_for("gpt-4o") == "estimate"
    warnings = [r for r in caplog.records if r.name == "agentd.tokens"]
    assert len(warnings) == 1, "a failed table is logged once"
    assert "o200k_base" in warnings[0].getMessage()


def test_hash_mismatch_falls_back_to_the_estimate(caplog: pytest.LogCaptureFixture) -> None:
    counter = TokenCounter(sha256={**SHA256, "o200k_base": "0" * 64})
    _assert_falls_back(counter, caplog)
    assert "sha256" in caplog.records[0].getMessage()
    # The other table is unaffected.
    assert counter.source_for("gpt-4") == "tiktoken"


def test_corrupted_copy_falls_back(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    for name in SHA256:
        shutil.copy(DATA_DIR / f"{name}.tiktoken.gz", tmp_path)
    original = gzip.decompress((DATA_DIR / "o200k_base.tiktoken.gz").read_bytes())
    # Change one rank: still parses, but is not the table we pinned.
    tampered = original.replace(b"IQ== 0\n", b"IQ== 1\n", 1)
    assert tampered != original
    (tmp_path / "o200k_base.tiktoken.gz").write_bytes(gzip.compress(tampered))
    _assert_falls_back(TokenCounter(data_dir=tmp_path), caplog)


@pytest.mark.parametrize("content", [None, b"", b"not gzip at all", gzip.compress(b"IQ== 0\n")])
def test_missing_or_broken_file_falls_back(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, content: bytes | None
) -> None:
    if content is not None:
        (tmp_path / "o200k_base.tiktoken.gz").write_bytes(content)
    _assert_falls_back(TokenCounter(data_dir=tmp_path), caplog)


def test_copied_constants_match_the_installed_tiktoken(monkeypatch: pytest.MonkeyPatch) -> None:
    """The patterns and special tokens we copied are tiktoken's (its loader swapped for a stub)."""
    from tiktoken_ext import openai_public  # type: ignore[import-untyped]

    monkeypatch.setattr(openai_public, "load_tiktoken_bpe", lambda *a, **k: {})
    for name in SHA256:
        spec = getattr(openai_public, name)()
        assert spec["pat_str"] == tokens._PATTERNS[name]
        assert spec["special_tokens"] == tokens._SPECIAL_TOKENS[name]
    # The hashes we pin are the ones tiktoken checks downloads against.
    source = Path(openai_public.__file__).read_text()
    for digest in SHA256.values():
        assert digest in source


def test_tiktoken_download_is_blocked_here(no_network: list[str]) -> None:
    """The guard works: tiktoken's own loader would need the network, and is refused."""
    import tiktoken

    with pytest.raises(Exception):  # noqa: B017 - requests wraps the refusal in its own errors
        tiktoken.get_encoding("r50k_base")
    assert no_network, "the refusal was recorded"
    no_network.clear()


def test_counting_needs_no_network(no_network: list[str]) -> None:
    counter = TokenCounter()
    assert counter.count("hello world", "gpt-4o") == 2
    assert counter.count("hello world", "gpt-4") == 2
    assert not no_network
