"""The Docker image holds every first-party package its code imports (offline: reads docker/Dockerfile, builds
nothing). ``gaby eval`` failed in the image because the evals import ``sandbox/``, which the image did not copy."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOCKERFILE = ROOT / "docker" / "Dockerfile"


def copied() -> set[str]:
    """The repository paths the runtime stage copies (``COPY <src> ...`` without ``--from``)."""
    runtime = DOCKERFILE.read_text(encoding="utf-8").rsplit("\nFROM ", 1)[1]
    paths = set()
    for line in runtime.splitlines():
        match = re.match(r"COPY\s+(?!--from)(?:--\S+\s+)*(\S+)\s+\S+$", line.strip())
        if match:
            paths.add(match.group(1).strip("/").removeprefix("./"))
    return paths


def first_party(files: list[Path]) -> set[str]:
    """Top-level names of this repository that ``files`` import, at module level or inside functions."""
    ours = {p.name for p in ROOT.iterdir() if (p / "__init__.py").exists()} | {p.stem for p in ROOT.glob("*.py")}
    found: set[str] = set()
    for path in files:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            found |= {name.split(".")[0] for name in names} & ours
    return found


def test_the_image_copies_every_first_party_package_its_code_imports() -> None:
    image = copied()
    shipped = [ROOT / name for name in image if (ROOT / name).is_dir() or name.endswith(".py")]
    files = [p for top in shipped for p in ([top] if top.is_file() else top.rglob("*.py"))]
    assert "sandbox" in first_party(files)  # the evals' vendor stand-ins
    missing = {name for name in first_party(files) if name not in image and f"{name}.py" not in image}
    assert not missing, f"docker/Dockerfile does not copy {sorted(missing)}, which the image's code imports"
