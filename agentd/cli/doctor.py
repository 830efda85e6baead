"""``agentd doctor``: what is configured, where files live, and every problem with its fix.

It checks what a user can get wrong (environment values, directories, permissions, broken
scripts) and that a daemon started from here answers and completes a scripted turn. That turn
runs in a throw-away home, so the check leaves no record behind. Network providers are not
called: their keys are reported as set or not, and ``agentd chat --provider NAME`` tries one.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import stat
import sys
import tempfile
import time
from pathlib import Path

from agentd import __version__
from agentd.cli import EXIT_FAILED, EXIT_OK
from agentd.cli.options import LOG_LEVELS

OPENAI_APIS = ("responses", "chat")


class Report:
    """Lines to print, and the problems (each with its fix)."""

    def __init__(self) -> None:
        self.problems: list[tuple[str, str]] = []

    def info(self, label: str, value: str) -> None:
        print(f"  {label:<18} {value}")

    def problem(self, what: str, fix: str) -> None:
        self.problems.append((what, fix))


def run_doctor(args: argparse.Namespace) -> int:
    report = Report()
    env = os.environ
    print(f"agentd {__version__} (Python {sys.version.split()[0]}, {sys.executable})")
    print("\nfiles:")
    _check_home(report, env)
    print("\nsettings:")
    _check_settings(report, env, args)
    print("\nproviders:")
    _check_providers(report, tuple(args.scripts_dir))
    print("\ndaemon:")
    _check_daemon(report, tuple(args.scripts_dir))
    if not report.problems:
        print("\nno problems found")
        return EXIT_OK
    print(f"\n{len(report.problems)} problem(s):")
    for what, fix in report.problems:
        print(f"  - {what}\n    fix: {fix}")
    return EXIT_FAILED


def _check_home(report: Report, env: os._Environ[str]) -> None:
    from agentd.config import default_home

    home = default_home()
    source = "$AGENTD_HOME" if env.get("AGENTD_HOME") else "default"
    report.info("home", f"{home} ({source})")
    sessions = home / "sessions"
    report.info("history", str(sessions))
    report.info(
        "config",
        str(home / "config.toml") + ("" if (home / "config.toml").exists() else " (absent)"),
    )
    if not home.exists():
        report.info("state", "not created yet: the first turn creates it")
        parent = _existing_parent(home)
        if not os.access(parent, os.W_OK):
            report.problem(
                f"cannot create {home}: {parent} is not writable",
                "set AGENTD_HOME to a directory you can write",
            )
        return
    if not home.is_dir():
        report.problem(f"{home} is not a directory", "set AGENTD_HOME to a directory")
        return
    if not os.access(home, os.W_OK | os.X_OK):
        report.problem(f"{home} is not writable", f"chmod u+rwx {home}, or set AGENTD_HOME")
    for directory in (home, sessions):
        if directory.is_dir() and stat.S_IMODE(directory.stat().st_mode) & 0o077:
            report.problem(
                f"{directory} is readable by other users (history holds everything said)",
                f"chmod 700 {directory}",
            )
    if sessions.is_dir():
        count = sum(1 for _ in sessions.rglob("rollout-*.jsonl"))
        report.info("records", str(count))


def _existing_parent(path: Path) -> Path:
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


def _check_settings(report: Report, env: os._Environ[str], args: argparse.Namespace) -> None:
    level = args.log_level or env.get("AGENTD_LOG_LEVEL") or "WARNING"
    report.info("log level", level.upper())
    if level.upper() not in LOG_LEVELS:
        report.problem(
            f"AGENTD_LOG_LEVEL={level!r} is not a log level",
            f"use one of {', '.join(LOG_LEVELS)} (or unset it)",
        )
    dirs = [str(d) for d in args.scripts_dir]
    env_dirs = [d for d in env.get("AGENTD_SCRIPTS_DIR", "").split(os.pathsep) if d]
    report.info("scripts dirs", ", ".join([*dirs, *env_dirs]) or "(built-in scripts only)")
    for directory in env_dirs:
        if not Path(directory).is_dir():
            report.problem(
                f"AGENTD_SCRIPTS_DIR names {directory}, which is not a directory",
                "create it, or remove it from AGENTD_SCRIPTS_DIR",
            )
    api = env.get("AGENTD_OPENAI_API")
    if api is not None and api not in OPENAI_APIS:
        report.problem(
            f"AGENTD_OPENAI_API={api!r} is not a wire agentd speaks",
            f"use one of {', '.join(OPENAI_APIS)} (or unset it)",
        )
    for name in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "OPENROUTER_API_KEY"):
        value = env.get(name)
        shown = "(unset)" if not value else ("set" if name.endswith("KEY") else value)
        report.info(name, shown)


def _check_providers(report: Report, script_dirs: tuple[Path, ...]) -> None:
    from agentd.cli.info import provider_models
    from agentd.providers.scripted import ScriptedProvider

    listing = provider_models(script_dirs)
    for row in listing["providers"]:
        if row["configured"]:
            default = " (default provider)" if row["name"] == listing["default_provider"] else ""
            report.info(row["name"], f"configured, model {row['default_model']}{default}")
        else:
            report.info(row["name"], f"not configured (needs {row['missing']})")
    provider = ScriptedProvider(script_dirs)
    for name in provider.available_scripts():
        try:
            provider.load_script(name)
        except Exception as exc:  # a broken script names its file and step
            report.problem(f"script {name} is broken: {exc}", "fix or remove the script file")


def _check_daemon(report: Report, script_dirs: tuple[Path, ...]) -> None:
    try:
        answer = asyncio.run(asyncio.wait_for(_daemon_turn(script_dirs), 30))
    except Exception as exc:
        report.info("answers", "no")
        report.problem(
            f"a daemon started from here did not complete a scripted turn: {exc!r}",
            "run 'agentd serve --log-level debug' and read its stderr",
        )
        return
    report.info("answers", answer)


async def _daemon_turn(script_dirs: tuple[Path, ...]) -> str:
    from agentd.client import AgentdClient

    args: list[str] = ["--fsync", "never"]
    for directory in script_dirs:
        args += ["--scripts-dir", str(directory)]
    with tempfile.TemporaryDirectory(prefix="agentd-doctor-") as home:
        env = {**os.environ, "AGENTD_HOME": home}
        started = time.monotonic()
        client = await AgentdClient.spawn(args, env=env, stderr=asyncio.subprocess.DEVNULL)
        try:
            hello = await client.call("rpc.handshake", {"client_name": "agentd-doctor"})
            first = (time.monotonic() - started) * 1000
            session = await client.create_session(provider="scripted", model="echo")
            turn = await client.send(session, "ping")
            events = await client.turn_events(turn["turn_id"], timeout=20)
        finally:
            await client.close()
    ended = [e["type"] for e in events if e["type"].startswith("session.completed")]
    if not ended:
        raise RuntimeError("the scripted turn did not complete")
    return (
        f"yes: {hello['server_name']} {hello['server_version']}, protocol "
        f"{hello['protocol_version']}, first answer after {first:.0f} ms, scripted turn completed"
    )
