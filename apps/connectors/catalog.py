"""The connector catalog (CON-2): catalog.yaml read once, plus the registry of in-tree MCP server packages.

``first_party_servers`` is what the contract suite runs against: every server the catalog names and every
package under apps/connectors/servers, so a new first-party server is checked the day it lands, even
before its catalog entry is written.
"""

from __future__ import annotations

import functools
import pkgutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

CATALOG_FILE = Path(__file__).with_name("catalog.yaml")
SERVERS_DIR = Path(__file__).with_name("servers")
FORMS_BY_VIA = {"postgres", "code", "openapi", "keycloak", "stripe", "mcp", "ninjaone", "microsoft365"}


@dataclass(frozen=True)
class Entry:
    id: str
    name: str
    category: str
    via: str
    first_party: bool
    transport: str
    docs: str
    server: str = ""
    note: str = ""
    settings: tuple[dict[str, Any], ...] = field(default_factory=tuple)

    @property
    def connect_kind(self) -> str:
        """The Connect form for it (connectors:new <kind>)."""
        return self.via if self.via in FORMS_BY_VIA else "mcp"

    @property
    def required(self) -> list[str]:
        return [str(setting["name"]) for setting in self.settings]


@functools.cache
def entries() -> tuple[Entry, ...]:
    raw = yaml.safe_load(CATALOG_FILE.read_text(encoding="utf-8")) or []
    out = []
    for item in raw:
        item = dict(item)
        item["settings"] = tuple(item.get("settings") or ())
        out.append(Entry(**item))
    return tuple(out)


def by_category() -> list[tuple[str, list[Entry]]]:
    groups: dict[str, list[Entry]] = {}
    for entry in entries():
        groups.setdefault(entry.category, []).append(entry)
    return [(category, sorted(items, key=lambda e: e.name.lower())) for category, items in sorted(groups.items())]


def server_packages() -> list[str]:
    """The in-tree MCP servers: packages under apps/connectors/servers that run with ``python -m``."""
    return sorted(
        info.name
        for info in pkgutil.iter_modules([str(SERVERS_DIR)])
        if info.ispkg and (SERVERS_DIR / info.name / "__main__.py").exists()
    )


def first_party_servers() -> list[str]:
    return sorted({entry.server for entry in entries() if entry.first_party and entry.server} | set(server_packages()))
