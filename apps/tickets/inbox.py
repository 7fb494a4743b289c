"""The unified inbox's one listing mechanism (SRC-5, §8.3): row providers merged into one keyset-paginated page.

Tickets are one provider (``apps.tickets.selectors.TicketRows``); apps outside the core path (the chat
widget's live conversations) register theirs in their ``AppConfig.ready``, so this app never imports them
and works without them. Each provider returns its newest rows older than the page's position, ordered by
(last activity, id) like every other provider; the inbox merges them and keeps the first ``size``. Every
provider runs a fixed number of queries per page, so a page costs the same whatever the number of rows.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol
from uuid import UUID

from apps.tickets.models import Priority, Status

if TYPE_CHECKING:
    from django.db.models import QuerySet

    from apps.tickets.models import Ticket

PAGE_SIZE = 50
Position = tuple[datetime, UUID]


@dataclass(frozen=True)
class InboxRow:
    """One line of the inbox: rendered by ``template`` (a partial given ``row``), sorted by ``(at, pk)``."""

    kind: str  # the provider's kind: "ticket", "chat", ...
    pk: UUID
    at: datetime  # last activity
    template: str
    item: Any

    @property
    def position(self) -> Position:
        return self.at, self.pk


@dataclass(frozen=True)
class InboxFilters:
    status: str = ""  # a ticket status, "active", "" for all, or a value a provider added ("needs_human")
    source: str = ""  # "" for all, a ticket source's id, or a value a provider added ("chat")
    priority: str = ""
    assignee: str = ""  # "", "me", "none" or a user id
    q: str = ""
    facets: tuple[tuple[str, str], ...] = ()  # (facet key, value) for each facet filter set: only tickets match

    @classmethod
    def from_query(cls, params: Mapping[str, Any]) -> InboxFilters:
        status = params.get("status", "active")
        source = str(params.get("source", ""))[:60]
        priority = params.get("priority", "")
        return cls(
            status=status if status in {*Status.values, "active", "", *(v for v, _ in status_options())} else "active",
            source=source if source in {v for v, _ in source_options()} or as_uuid(source) else "",
            priority=priority if priority in Priority.values else "",
            assignee=params.get("assignee", "")[:40],
            q=params.get("q", "").strip()[:200],
            facets=tuple(
                (facet.key, str(params.get(facet.key, "")))
                for facet in ticket_facets()
                if str(params.get(facet.key, "")) in {value for value, _ in facet.options}
            ),
        )

    @property
    def source_id(self) -> UUID | None:
        """The ticket source picked, if the source filter names one."""
        return as_uuid(self.source)

    def as_query(self) -> dict[str, str]:
        values = {"status": self.status, "source": self.source, "priority": self.priority}
        values |= {"assignee": self.assignee, "q": self.q, **dict(self.facets)}
        return {k: v for k, v in values.items() if v}


def as_uuid(value: str) -> UUID | None:
    try:
        return UUID(value) if value else None
    except ValueError:
        return None


class RowProvider(Protocol):
    kind: str
    page_template: str  # included once on the inbox page ("" for none): scripts a provider's rows need
    # What a provider adds to the filter menus, as (value, label): e.g. ("chat", "Chat conversations").
    source_options: list[tuple[str, str]]
    status_options: list[tuple[str, str]]

    def rows(
        self, filters: InboxFilters, *, user_id: UUID | None, before: Position | None, limit: int
    ) -> list[InboxRow]:
        """At most ``limit`` rows matching ``filters``, older than ``before``, newest first; a constant query count."""
        ...

    def live_tokens(self, filters: InboxFilters) -> list[str]:
        """Tokens the first page's row container declares (``data-live``) so this provider's live inserts land
        only where they belong (an empty list: none of its rows may be inserted under these filters)."""
        ...


_providers: dict[str, RowProvider] = {}


def register(provider: RowProvider) -> None:
    _providers[provider.kind] = provider


def unregister(kind: str) -> RowProvider | None:
    return _providers.pop(kind, None)


def providers() -> list[RowProvider]:
    return list(_providers.values())


class TicketFacet(Protocol):
    """What another app knows of each ticket (what Gaby concluded), shown as an inbox column and offered as a
    filter. Registered in that app's ``AppConfig.ready`` like a row provider, so this app imports none of it."""

    key: str  # the query parameter
    label: str  # the column's header and the filter's name
    options: list[tuple[str, str]]  # the filter's values
    cell_template: str  # draws the cell, given ``ticket`` (as ``annotate`` left it)

    def narrow(self, tickets: QuerySet[Ticket], value: str) -> QuerySet[Ticket]:
        """Only the tickets whose facet is ``value``."""
        ...

    def annotate(self, tickets: list[Ticket]) -> None:
        """Attach what the cell shows to each ticket of a page: a constant number of queries."""
        ...


_facets: dict[str, TicketFacet] = {}


def register_facet(facet: TicketFacet) -> None:
    _facets[facet.key] = facet


def ticket_facets() -> list[TicketFacet]:
    return list(_facets.values())


def source_options() -> list[tuple[str, str]]:
    return [option for provider in providers() for option in provider.source_options]


def status_options() -> list[tuple[str, str]]:
    return [option for provider in providers() for option in provider.status_options]


def encode_cursor(position: Position) -> str:
    stamp, pk = position
    return base64.urlsafe_b64encode(f"{stamp.isoformat()}|{pk}".encode()).decode()


def decode_cursor(value: str) -> Position | None:
    try:
        stamp, pk = base64.urlsafe_b64decode(value.encode()).decode().split("|", 1)
        return datetime.fromisoformat(stamp), UUID(pk)
    except (ValueError, UnicodeDecodeError):
        return None


@dataclass(frozen=True)
class InboxPage:
    rows: list[InboxRow]
    next_cursor: str
    is_first: bool
    live_tokens: str  # space-separated, for the row container's data-live on the first page


def inbox_page(
    filters: InboxFilters,
    *,
    user_id: UUID | None,
    after: str = "",
    size: int | None = None,
    kinds: set[str] | None = None,
) -> InboxPage:
    """Newest activity first across every provider (or those of ``kinds``), keyset-paginated: each provider's
    fixed queries per page."""
    size = size or PAGE_SIZE
    position = decode_cursor(after) if after else None
    chosen = [p for p in providers() if kinds is None or p.kind in kinds]
    merged: list[InboxRow] = []
    for provider in chosen:
        merged += provider.rows(filters, user_id=user_id, before=position, limit=size + 1)
    merged.sort(key=lambda row: row.position, reverse=True)
    has_more = len(merged) > size
    rows = merged[:size]
    tokens = [] if position else [t for provider in chosen for t in provider.live_tokens(filters)]
    return InboxPage(
        rows=rows,
        next_cursor=encode_cursor(rows[-1].position) if has_more else "",
        is_first=position is None,
        live_tokens=" ".join(tokens),
    )
