"""stdout carries protocol messages only (PROTOCOL §1).

Every e2e test already checks, when its daemons are closed, that all of their stdout decoded as
framed messages. This file checks the mechanism itself: ``take_stdio`` serves from a duplicate of
fd 1 and points fd 1 at stderr, so a stray ``print`` lands on stderr.
"""

from __future__ import annotations

import asyncio
import json
import sys
import textwrap

from tests.e2e.helpers import EXIT_TIMEOUT_S

STRAY_PRINT_PROGRAM = textwrap.dedent(
    """
    import os
    from agentd.server import take_stdio
    from agentd.wire import encode_lsp

    in_fd, out_fd = take_stdio()
    print("stray", flush=True)
    os.write(1, b"stray fd write\\n")
    os.write(out_fd, encode_lsp(b'{"jsonrpc":"2.0","method":"event","params":{}}'))
    """
)


async def test_stray_print_goes_to_stderr_not_to_the_protocol_stream(
    agentd_env: dict[str, str],
) -> None:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        STRAY_PRINT_PROGRAM,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=agentd_env,
    )
    stdout, stderr = await asyncio.wait_for(process.communicate(), EXIT_TIMEOUT_S)

    assert process.returncode == 0, stderr
    header, _, body = stdout.partition(b"\r\n\r\n")
    assert header == b"Content-Length: %d" % len(body)
    assert json.loads(body) == {"jsonrpc": "2.0", "method": "event", "params": {}}
    assert b"stray" in stderr
    assert b"stray fd write" in stderr
