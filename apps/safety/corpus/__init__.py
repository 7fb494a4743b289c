"""The hostile-ticket corpus (hostile_tickets.yaml): loaded into plain records so any consumer — the safety
test that replays each attempt through ``run_tool``, or the investigation loop feeding the tickets to an agent —
reads the same data."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

CORPUS = Path(__file__).with_name("hostile_tickets.yaml")


@dataclass(frozen=True)
class Attempt:
    connector: str  # a role named in the corpus' ``connectors``
    tool: str
    arguments: dict[str, Any]


@dataclass(frozen=True)
class HostileTicket:
    id: str
    category: str
    subject: str
    body: str
    attempts: tuple[Attempt, ...]
    tool_output: str = ""


@dataclass(frozen=True)
class Corpus:
    connectors: dict[str, dict[str, Any]]
    tickets: tuple[HostileTicket, ...] = field(default_factory=tuple)


def load(path: Path = CORPUS) -> Corpus:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    if data.get("version") != 1:
        raise ValueError(f"{path.name}: unknown corpus version {data.get('version')!r}.")
    roles = dict(data["connectors"])
    tickets = []
    for item in data["tickets"]:
        attempts = tuple(Attempt(a["connector"], a["tool"], dict(a.get("arguments") or {})) for a in item["attempts"])
        for attempt in attempts:
            if attempt.connector not in roles:
                raise ValueError(f"{path.name}: ticket {item['id']} names an unknown connector {attempt.connector!r}.")
        tickets.append(
            HostileTicket(
                item["id"], item["category"], item["subject"], item["body"], attempts, item.get("tool_output") or ""
            )
        )
    return Corpus(roles, tuple(tickets))
