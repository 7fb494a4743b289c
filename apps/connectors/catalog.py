"""The connector catalog (CON-2): every system Gaby is meant to reach, and which it reaches first-party today.

Read from catalog.json next to this module. A first-party entry names the Connect form (``kind``) that
connects it; any other entry connects as "any MCP server" (CON-1) until Gaby ships its own.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path

CATALOG_FILE = Path(__file__).with_name("catalog.json")


@dataclass(frozen=True)
class CatalogEntry:
    slug: str
    name: str
    category: str
    first_party: bool
    transport: str  # how its MCP server is usually reached: "stdio" or "http"
    settings: tuple[str, ...]  # what an admin has to provide
    docs: str  # the vendor's API documentation
    kind: str = ""  # the Connect form of a first-party entry (apps/connectors/forms.FORMS)


@cache
def catalog() -> tuple[CatalogEntry, ...]:
    raw = json.loads(CATALOG_FILE.read_text())
    return tuple(
        CatalogEntry(
            slug=item["slug"],
            name=item["name"],
            category=item["category"],
            first_party=bool(item["first_party"]),
            transport=item["transport"],
            settings=tuple(item.get("settings", ())),
            docs=item["docs"],
            kind=item.get("kind", ""),
        )
        for item in raw["entries"]
    )


def first_party() -> list[CatalogEntry]:
    return [entry for entry in catalog() if entry.first_party]
