"""The shape of the import graph: cycles between modules and function-local imports.

A cycle is a strongly connected component of the module import graph (grimp, the engine of import-linter), counting
every import, including the ones inside functions that only hide a cycle from the interpreter. A function-local
import is an ``import`` statement below a ``def``. Both figures are printed per package.

    .venv/bin/python bench/imports.py
"""

from __future__ import annotations

import ast
import sys
from collections import Counter
from pathlib import Path

import grimp

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("apps", "gaby_site", "tenants")


def _cycles(graph: grimp.ImportGraph) -> list[list[str]]:
    """Tarjan's strongly connected components with more than one module (iterative: the graph is deep)."""
    modules = sorted(graph.modules)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[list[str]] = []
    counter = 0
    for root in modules:
        if root in index:
            continue
        work = [(root, iter(sorted(graph.find_modules_directly_imported_by(root))))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            for child in children:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.find_modules_directly_imported_by(child)))))
                    break
                if child in on_stack:
                    low[node] = min(low[node], index[child])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    component = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.append(member)
                        if member == node:
                            break
                    if len(component) > 1:
                        components.append(sorted(component))
    return sorted(components)


def _local_imports() -> Counter[str]:
    """Import statements nested in a function body (at any depth), per file."""
    counts: Counter[str] = Counter()
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            if "migrations" in path.parts:
                continue
            tree = ast.parse(path.read_text(encoding="utf-8"))
            nested = {
                id(node)
                for func in ast.walk(tree)
                if isinstance(func, ast.FunctionDef | ast.AsyncFunctionDef)
                for node in ast.walk(func)
                if isinstance(node, ast.Import | ast.ImportFrom)
            }
            if nested:
                counts[str(path.relative_to(ROOT))] = len(nested)
    return counts


def main() -> int:
    sys.path.insert(0, str(ROOT))
    graph = grimp.build_graph(*PACKAGES, cache_dir=None)
    cycles = _cycles(graph)
    local = _local_imports()
    print(f"import cycles (strongly connected groups of modules): {len(cycles)}")
    for component in cycles:
        print(f"  {len(component):3d} modules: {', '.join(component)}")
    print(f"function-local imports: {sum(local.values())} in {len(local)} files")
    for path, count in sorted(local.items(), key=lambda item: (-item[1], item[0])):
        print(f"  {count:3d} {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
