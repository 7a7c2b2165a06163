"""The shape of the code, kept: features don't import each other, and bot/ has no import cycle.

What one feature must learn from another arrives as an event on the services object or through
a read function it registers there (services.reads); what several features share lives in a
core module. Every import counts, wherever it stands: a function's body, and under
`if TYPE_CHECKING:` too (a cycle the type checker alone follows is still a cycle). The sandbox
(a Bot API server for tests and local runs) is left out.
"""

from __future__ import annotations

import ast
from pathlib import Path

import bot

ROOT = Path(bot.__file__).parent
FEATURES = "bot.features"
LEFT_OUT = ("bot.sandbox",)


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _modules() -> dict[str, Path]:
    found = {_module_name(path): path for path in ROOT.rglob("*.py")}
    return {
        name: path
        for name, path in found.items()
        if not any(name == out or name.startswith(out + ".") for out in LEFT_OUT)
    }


def _imported(name: str, path: Path, known: set[str]) -> set[str]:
    """The modules of bot/ that module `name` imports, wherever the import stands (in a
    function's body, under `if TYPE_CHECKING:`)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, *([base] if base else [])])
            for alias in node.names:
                # `from bot import asks` imports the module bot.asks; `from bot.x import f`
                # imports the module bot.x.
                submodule = f"{base}.{alias.name}"
                found.add(submodule if submodule in known else base)
    return {module for module in found if module in known and module != name}


def _graph() -> dict[str, set[str]]:
    modules = _modules()
    known = set(modules)
    return {name: _imported(name, path, known) for name, path in modules.items()}


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """An import cycle (its modules in order, the first repeated at the end), or None."""
    done: set[str] = set()
    path: list[str] = []
    on_path: set[str] = set()

    def walk(module: str) -> list[str] | None:
        path.append(module)
        on_path.add(module)
        for imported in sorted(graph[module]):
            if imported in on_path:
                return [*path[path.index(imported) :], imported]
            if imported not in done:
                found = walk(imported)
                if found is not None:
                    return found
        path.pop()
        on_path.discard(module)
        done.add(module)
        return None

    for module in sorted(graph):
        if module not in done:
            found = walk(module)
            if found is not None:
                return found
    return None


def _feature(module: str) -> str | None:
    """The feature a module belongs to (bot.features.<feature>[...]), or None."""
    if not module.startswith(FEATURES + "."):
        return None
    return module.split(".")[2]


def test_features_do_not_import_each_other() -> None:
    graph = _graph()
    crossings = sorted(
        f"{module} imports {imported}"
        for module, imports in graph.items()
        if (feature := _feature(module)) is not None
        for imported in imports
        if _feature(imported) not in (None, feature)
    )
    assert crossings == [], (
        "features talk through events and read functions on the services object, and share "
        "core modules; they never import each other:\n" + "\n".join(crossings)
    )


def test_bot_has_no_import_cycle() -> None:
    cycle = _cycle(_graph())
    assert cycle is None, "an import cycle in bot/: " + " -> ".join(cycle or [])


def test_the_rules_see_what_they_should() -> None:
    """The checks above can fail: they see imports of every kind, wherever they stand."""
    graph = _graph()
    assert "bot.sandbox.server" not in graph  # the sandbox is left out
    assert "bot.asks" in graph["bot.app"]  # `from bot import asks`
    assert "bot.features.help" in graph["bot.app"]  # `from bot.features import help as ...`
    assert "bot.guards" in graph["bot.features.calm"]  # `from bot.guards import Asked`
    assert "bot.context" in graph["bot.flows"]  # only under `if TYPE_CHECKING:`
    looped = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert _cycle(looped) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": set(), "c": {"a", "b"}}) is None
    assert _feature("bot.features.pause") == "pause" and _feature("bot.flows") is None
