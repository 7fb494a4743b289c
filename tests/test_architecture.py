"""Structural rules the design depends on, checked on the source tree."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _python_files(*folders: str) -> list[Path]:
    return [path for folder in folders for path in (ROOT / folder).rglob("*.py") if "migrations" not in path.parts]


def _references(path: Path, name: str) -> bool:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return any(
        (isinstance(node, ast.Attribute) and node.attr == name) or (isinstance(node, ast.Name) and node.id == name)
        or (isinstance(node, ast.ImportFrom) and any(alias.name == name for alias in node.names))
        for node in ast.walk(tree)
    )  # fmt: skip


def test_only_the_enforcement_point_executes_tool_calls() -> None:
    """SAF: every tool call of every path goes through apps/safety/enforcement.py."""
    callers = {
        str(path.relative_to(ROOT))
        for path in _python_files("apps", "tenants", "gaby_site")
        if _references(path, "execute_tool_call")
    }
    assert callers == {"apps/safety/enforcement.py"}  # (apps/connectors/services.py defines it)


def test_nothing_in_the_core_path_imports_chat_or_billing() -> None:
    offenders = []
    for path in _python_files("apps", "tenants", "gaby_site"):
        if path.parts[-2] in {"chat", "billing"} or "chat" in path.parts or "billing" in path.parts:
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            module = node.module if isinstance(node, ast.ImportFrom) else None
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else [module or ""]
            if any(n.startswith(("apps.chat", "apps.billing")) for n in names):
                offenders.append(str(path.relative_to(ROOT)))
    assert offenders == []


def test_only_the_llm_gateway_imports_litellm() -> None:
    importers = set()
    for path in _python_files("apps", "tenants", "gaby_site"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
            if isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            if any(n == "litellm" or n.startswith("litellm.") for n in names):
                importers.add(str(path.relative_to(ROOT)))
    # The LLM gateway (apps/llm: completions, how a response is read, embeddings): the one seam to litellm.
    assert all(path.startswith("apps/llm/") for path in importers)
