"""Saved inbox views: a few built in (mine, unassigned, urgent) and the ones a person names, each with its count of
tickets. A view is the inbox's query string, normalised by the inbox's own filter parsing."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlencode
from uuid import UUID

from django.core.exceptions import ValidationError
from django.http import QueryDict

from apps.tickets.inbox import InboxFilters
from apps.tickets.models import SavedView
from apps.tickets.selectors import filtered_tickets

MAX_PER_PERSON = 20
DEFAULT = urlencode(InboxFilters().as_query() | {"status": "active"})  # the inbox as it opens
BUILT_IN = (("Mine", "assignee=me"), ("Unassigned", "assignee=none"), ("Urgent", "priority=urgent"))


@dataclass(frozen=True)
class ViewLink:
    name: str
    query: str
    count: int
    pk: UUID | None = None  # None: built in, cannot be deleted


def normalised(query: str) -> str:
    """The query as the inbox reads it: unknown or invalid filters dropped, in a stable order."""
    return urlencode(InboxFilters.from_query(QueryDict(query)).as_query())


def views_for(user_id: UUID) -> list[ViewLink]:
    """Every view with its ticket count (one count query each: at most 3 + MAX_PER_PERSON)."""
    pairs: list[tuple[str, str, UUID | None]] = [(name, normalised(query), None) for name, query in BUILT_IN]
    pairs += [(v.name, v.query, v.pk) for v in SavedView.objects.filter(user_id=user_id)]
    return [
        ViewLink(name, query, filtered_tickets(InboxFilters.from_query(QueryDict(query)), user_id=user_id).count(), pk)
        for name, query, pk in pairs
    ]


def save_view(*, user_id: UUID, name: str, query: str) -> SavedView:
    name = name.strip()
    if not name:
        raise ValidationError("Give the view a name.")
    if len(name) > 60:
        raise ValidationError("Keep the name under 60 characters.")
    if name in {built for built, _ in BUILT_IN}:
        raise ValidationError(f"“{name}” is a built-in view: pick another name.")
    query = normalised(query)
    if query == DEFAULT:
        raise ValidationError("Set a filter or a search first: this is the whole inbox.")
    if len(query) > SavedView._meta.get_field("query").max_length:  # type: ignore[operator]
        raise ValidationError("That search is too long to save as a view: shorten it.")
    existing = SavedView.objects.filter(user_id=user_id, name=name).first()
    if existing is None and SavedView.objects.filter(user_id=user_id).count() >= MAX_PER_PERSON:
        raise ValidationError(f"You have {MAX_PER_PERSON} saved views: delete one first.")
    view, _ = SavedView.objects.update_or_create(user_id=user_id, name=name, defaults={"query": query})
    return view


def delete_view(*, user_id: UUID, view_id: UUID) -> bool:
    deleted, _ = SavedView.objects.filter(user_id=user_id, pk=view_id).delete()
    return bool(deleted)
