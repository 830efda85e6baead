"""Importing the provider costs no HTTP stack: httpx loads on the first request."""

from __future__ import annotations

import subprocess
import sys


def test_importing_the_provider_imports_no_http_client() -> None:
    code = (
        "import sys, agentd.providers.openai.provider\n"
        "heavy = ('httpx', 'httpcore', 'openai', 'anyio', 'h11')\n"
        "print(sorted(m for m in heavy if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
