"""Chunk merging while stdout is backed up: a 10 MB answer in 1 KB deltas (issue 10 item 3).

Run: ``.venv/bin/python bench/merge.py``. Prints the time to merge and encode once.
"""

from __future__ import annotations

import time

from agentd.api.chunks import ChunkMerger


def main() -> None:
    for total_mb in (10, 100):
        piece = "x" * 1024
        count = total_mb * 1024
        chunk = {
            "session_id": "s",
            "turn_id": "t",
            "chunk": {
                "thoughts": [],
                "answerText": piece,
                "segments": [{"kind": "answer", "text": piece}],
            },
        }
        started = time.perf_counter()
        merger = ChunkMerger(chunk)
        for _ in range(count - 1):
            merger.add(chunk)
        merged = time.perf_counter()
        payload = merger.payload()
        done = time.perf_counter()
        assert len(payload["chunk"]["answerText"]) == count * 1024
        print(
            f"{total_mb} MB in {count} deltas of 1 KB: merge {merged - started:.3f} s, "
            f"join {done - merged:.3f} s"
        )


if __name__ == "__main__":
    main()
