"""Structural rules the design depends on, checked on the source tree.

Who may import whom (the layers, no cycles, litellm only in apps/llm) is import-linter's contract in
pyproject.toml, run by ``lint-imports`` (a step of ``./gaby test``)."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _python_files(*folders: str) -> list[Path]:
    return [path for folder in folders for path in (ROOT / folder).rglob("*.py") if "migrations" not in path.parts]


def _references(path: Path, name: str) -> bool:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return any(
        (isinstance(node, ast.Attribute) and node.attr == name)
        or (isinstance(node, ast.Name) and node.id == name)
        or (isinstance(node, ast.ImportFrom) and any(alias.name == name for alias in node.names))
        for node in ast.walk(tree)
    )


def test_only_the_enforcement_point_executes_tool_calls() -> None:
    """SAF: every tool call of every path goes through apps/safety/enforcement.py."""
    callers = {
        str(path.relative_to(ROOT))
        for path in _python_files("apps", "tenants", "gaby_site")
        if _references(path, "execute_tool_call")
    }
    assert callers == {"apps/safety/enforcement.py"}  # (apps/connectors/services.py defines it)
