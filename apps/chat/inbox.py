"""Live chat conversations as rows of the unified inbox (§8.3), plugged in through apps/tickets/inbox.py.

Registered by ``ChatConfig.ready``; the tickets app never imports this module. One query per page (the
conversations with their widget, last message and author annotated), so the inbox's cost stays flat however
many conversations there are. A conversation appears once the visitor has written something: opening the
widget alone is not a conversation anyone needs to see.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from django.db.models import Exists, OuterRef, Q, QuerySet, Subquery

from apps.chat.models import ChatMessage, Conversation, ConversationState, Role, Surface
from apps.tickets.inbox import InboxFilters, InboxRow, Position, as_uuid

KIND = "chat"
# The inbox's source filter: "chat" takes every conversation, "chat-slack" only those of that surface (SRC-5).
SURFACE_SOURCES = {f"chat-{surface}": surface for surface in (Surface.WIDGET, Surface.SLACK, Surface.TEAMS)}
NEEDS_HUMAN = "needs_human"
TEMPLATE = "chat/inbox_row.html#row"
ALL_STATES = [state.value for state in ConversationState]
_STATES_BY_STATUS: dict[str, list[str] | None] = {
    "": None,  # all
    "active": [ConversationState.BOT, ConversationState.WAITING, ConversationState.HUMAN],
    NEEDS_HUMAN: [ConversationState.WAITING],
    "closed": [ConversationState.CLOSED],
}


def _last(field: str) -> Subquery:
    latest = ChatMessage.objects.filter(conversation=OuterRef("pk")).order_by("-created_at", "-id")
    return Subquery(latest.values(field)[:1])


def _visitor_wrote() -> QuerySet[ChatMessage]:
    return ChatMessage.objects.filter(conversation=OuterRef("pk"), role=Role.VISITOR)


def annotated() -> QuerySet[Conversation]:
    """Conversations with what a row shows: the widget, the last message and its author, whether the visitor wrote."""
    return Conversation.objects.select_related("widget", "install").annotate(
        last_body=_last("body"), last_author=_last("author_label"), visitor_wrote=Exists(_visitor_wrote())
    )


def conversations() -> QuerySet[Conversation]:
    """The inbox's conversations: those the visitor wrote in."""
    return annotated().filter(Exists(_visitor_wrote()))


class ConversationRows:
    kind = KIND
    page_template = "chat/inbox_row.html#page"
    source_options = [
        (KIND, "Chat (live conversations)"),
        ("chat-widget", "Chat widget"),
        ("chat-slack", "Slack"),
        ("chat-teams", "Microsoft Teams"),
    ]
    status_options = [(NEEDS_HUMAN, "Needs a person (chat)")]

    def accepts(self, filters: InboxFilters) -> bool:
        """Filters another provider owns (a ticket source, a priority, a ticket status, what Gaby concluded of a
        ticket) match no conversation."""
        return (
            (filters.source in ("", KIND) or filters.source in SURFACE_SOURCES)
            and not filters.priority
            and not filters.facets
            and filters.status in _STATES_BY_STATUS
        )

    def rows(
        self, filters: InboxFilters, *, user_id: UUID | None, before: Position | None, limit: int
    ) -> list[InboxRow]:
        if not self.accepts(filters):
            return []
        qs = conversations()
        if filters.source in SURFACE_SOURCES:
            qs = qs.filter(surface=SURFACE_SOURCES[filters.source])
        if (states := _STATES_BY_STATUS[filters.status]) is not None:
            qs = qs.filter(state__in=states)
        if filters.assignee == "me":
            qs = qs.filter(operator_id=user_id)
        elif filters.assignee == "none":
            qs = qs.filter(operator_id__isnull=True)
        elif filters.assignee:
            qs = qs.filter(operator_id=as_uuid(filters.assignee)) if as_uuid(filters.assignee) else qs.none()
        if filters.q:
            said = ChatMessage.objects.filter(conversation=OuterRef("pk"), body__icontains=filters.q)
            qs = qs.filter(Q(visitor_name__icontains=filters.q) | Q(visitor_email__icontains=filters.q) | Exists(said))
        if before:
            stamp, pk = before
            qs = qs.filter(Q(last_message_at__lt=stamp) | Q(last_message_at=stamp, id__lt=pk))
        return [row_of(c) for c in qs.order_by("-last_message_at", "-id")[:limit]]

    def live_tokens(self, filters: InboxFilters) -> list[str]:
        """``chat-<state>`` for each state these filters show, ``chat-<surface>-<state>`` with a surface filter on
        (a search or an assignee: none, a new row might not match them)."""
        if filters.q or filters.assignee or not self.accepts(filters):
            return []
        surface = SURFACE_SOURCES.get(filters.source, "")
        return [_token(state, surface) for state in _STATES_BY_STATUS[filters.status] or ALL_STATES]


def row_of(conversation: Conversation) -> InboxRow:
    return InboxRow(
        kind=KIND, pk=conversation.pk, at=conversation.last_message_at, template=TEMPLATE, item=conversation
    )


def inbox_row(conversation_id: UUID) -> InboxRow | None:
    conversation = conversations().filter(pk=conversation_id).first()
    return row_of(conversation) if conversation is not None else None


def _token(state: str, surface: str = "") -> str:
    return f"chat-{surface}-{state}" if surface else f"chat-{state}"


def live_targets(row: InboxRow) -> list[str]:
    """Where a conversation's refreshed row goes: the first page of every inbox whose filters show its state, with
    no surface filter or with its own surface's. A page carries one kind of token, so it takes the row once."""
    conversation: Any = row.item
    return [
        f'#inbox-rows[data-live~="{_token(conversation.state)}"]',
        f'#inbox-rows[data-live~="{_token(conversation.state, conversation.surface)}"]',
    ]
