"""Where playbooks come from: the shipped library (``library/*.yaml``) merged with the client's own rows.

Shipped files are parsed once per process (again when a file changes). A broken file or client row is
reported — logged and listed on the Playbooks page with its problems — and never used, never silently
skipped. A client row with YAML overrides the shipped playbook of the same name; a row without YAML only
switches the shipped one on or off.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field, replace
from pathlib import Path

import structlog

from apps.agent.playbooks.models import ClientPlaybook
from apps.agent.playbooks.parsing import parse
from apps.agent.playbooks.schema import Playbook, PlaybookInvalid, Problem

log = structlog.get_logger(__name__)
LIBRARY_DIR = Path(__file__).with_name("library")


@dataclass
class Entry:
    """One playbook name as the client sees it."""

    name: str
    origin: str  # "shipped" | "client" | "override"
    enabled: bool
    playbook: Playbook | None  # None when it does not validate
    problems: list[Problem] = field(default_factory=list)
    text: str = ""

    @property
    def active(self) -> bool:
        return self.enabled and self.playbook is not None


@dataclass
class Catalog:
    entries: list[Entry]

    @property
    def active(self) -> list[Playbook]:
        return [entry.playbook for entry in self.entries if entry.active and entry.playbook is not None]

    @property
    def problems(self) -> list[Problem]:
        return [problem for entry in self.entries for problem in entry.problems]

    def get(self, name: str) -> Entry | None:
        return next((entry for entry in self.entries if entry.name == name), None)


_lock = threading.Lock()
_cache: dict[str, object] = {}


def shipped(directory: Path = LIBRARY_DIR) -> list[Entry]:
    """The shipped library, parsed; re-read only when a file is added, removed or changed."""
    files = sorted(directory.glob("*.yaml"))
    signature = tuple((path.name, path.stat().st_mtime_ns) for path in files)
    key = str(directory)
    with _lock:
        cached = _cache.get(key)
        if isinstance(cached, tuple) and cached[0] == signature:
            return [replace(entry, problems=list(entry.problems)) for entry in cached[1]]
    entries = []
    for path in files:
        source = f"library/{path.name}"
        text = path.read_text(encoding="utf-8")
        try:
            playbook = parse(text, source=source)
            entries.append(Entry(playbook.name, "shipped", True, playbook, text=text))
        except PlaybookInvalid as exc:
            log.error("playbook.invalid", source=source, problems=[str(p) for p in exc.problems])
            entries.append(Entry(path.stem, "shipped", True, None, exc.problems, text=text))
    names = [entry.name for entry in entries]
    for entry in entries:
        if names.count(entry.name) > 1:
            problem = Problem(
                entry.playbook.source if entry.playbook else entry.name,
                "name",
                f"{entry.name!r} is used by more than one shipped file",
            )
            entry.problems.append(problem)
            entry.playbook = None
    with _lock:
        _cache[key] = (signature, tuple(entries))
    return [replace(entry, problems=list(entry.problems)) for entry in entries]


def catalog(directory: Path = LIBRARY_DIR) -> Catalog:
    """Shipped and client playbooks for the current client's schema."""
    by_name = {entry.name: entry for entry in shipped(directory)}
    for row in ClientPlaybook.objects.all():
        base = by_name.get(row.name)
        if not row.yaml:
            if base is not None:
                base.enabled = row.enabled
            continue
        source = f"client:{row.name}"
        origin = "override" if base is not None else "client"
        try:
            by_name[row.name] = Entry(row.name, origin, row.enabled, parse(row.yaml, source=source), text=row.yaml)
        except PlaybookInvalid as exc:  # validated on save; a schema change can still break an old row
            log.error("playbook.invalid", source=source, problems=[str(p) for p in exc.problems])
            by_name[row.name] = Entry(row.name, origin, row.enabled, None, exc.problems, text=row.yaml)
    return Catalog(sorted(by_name.values(), key=lambda entry: entry.name))
