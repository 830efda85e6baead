"""The layering rules of ARCHITECTURE.md, checked on the source: no module reaches up a layer,
and no modules import each other in a circle, not even for type hints (imports inside functions
do not count for circles: they are the way to load something later)."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "agentd"

#: What a front door's projection of the core (``api``, ``acp``) may import.
PROJECTION = {
    "text",
    "memory",
    "rpc",
    "protocol",
    "core",
    "providers",
    "tools",
    "store",
    "tokens",
    "config",
    "clock",
    "wire",
}

#: What each layer may import from agentd (itself always). Top-level modules (cli, server, …)
#: may import anything.
ALLOWED: dict[str, set[str]] = {
    "wire": set(),
    "clock": set(),
    "config": set(),
    "tokens": set(),
    "text": set(),
    "memory": set(),
    "protocol": {"wire", "text"},
    "rpc": {"wire", "protocol", "text", "memory"},
    "store": {"config", "clock", "text"},
    "tools": {"config", "text"},
    "providers": {"config", "clock", "text"},
    "core": {
        "protocol",
        "providers",
        "tools",
        "store",
        "tokens",
        "config",
        "clock",
        "text",
        "memory",
    },
    "api": PROJECTION,
    # the second front door (ACP): a projection like ``api``, whose error mapping it reuses
    "acp": PROJECTION | {"api"},
}


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def layer(module: str) -> str:
    return module.split(".")[1] if "." in module else ""


def imports(path: Path, *, top_level_only: bool) -> list[str]:
    """agentd modules imported by ``path`` (``from a import b`` counts ``a.b`` when it is one)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: list[str] = []

    def visit(node: ast.AST) -> None:
        for child in ast.iter_child_nodes(node):
            if top_level_only and isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            if isinstance(child, ast.Import):
                found.extend(a.name for a in child.names if a.name.startswith("agentd"))
            elif isinstance(child, ast.ImportFrom) and (child.module or "").startswith("agentd"):
                base = child.module or ""
                for alias in child.names:
                    candidate = f"{base}.{alias.name}"
                    as_module = PACKAGE.parent / Path(*candidate.split("."))
                    is_module = as_module.with_suffix(".py").exists() or as_module.is_dir()
                    found.append(candidate if is_module else base)
            visit(child)

    visit(tree)
    return found


def sources() -> dict[str, Path]:
    return {module_name(p): p for p in PACKAGE.rglob("*.py")}


def test_no_module_reaches_up_a_layer() -> None:
    problems = []
    for module, path in sources().items():
        own = layer(module)
        if own not in ALLOWED:
            continue  # top-level modules: the CLI, the server, the client
        for target in imports(path, top_level_only=False):
            other = layer(target)
            # the package root only holds ``__version__``
            if other not in ("", own) and other not in ALLOWED[own]:
                problems.append(f"{module} imports {target}")
    assert problems == []


def test_no_import_cycles() -> None:
    modules = sources()
    graph = {
        name: {t for t in imports(path, top_level_only=True) if t in modules and t != name}
        for name, path in modules.items()
    }
    cycles: list[list[str]] = []
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for target in sorted(graph[node]):
            if state.get(target) == 1:
                cycles.append([*stack[stack.index(target) :], target])
            elif target not in state:
                visit(target)
        stack.pop()
        state[node] = 2

    for name in sorted(graph):
        if name not in state:
            visit(name)
    # a package importing its own submodules from __init__ is not a circle of modules
    cycles = [c for c in cycles if not any(c[0] == n.rsplit(".", 1)[0] for n in c[1:])]
    assert cycles == []
