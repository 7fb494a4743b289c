"""The one source/sink interface every help desk, mailbox and webhook adapter implements (SRC-1, SRC-6).

An adapter is built from a ``TicketSource`` and its unsealed configuration. It never touches the
database: pulling and webhook parsing return ``NormalizedTicket`` values that ``services.ingest_ticket``
stores; writing back gets the ticket and message ids it needs as arguments. Operations a source cannot
do raise ``UnsupportedOperation`` with the reason, so a caller never mistakes "not possible" for "done".
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

from apps.tickets.normalized import NormalizedTicket


class SourceError(Exception):
    """The source failed (unreachable, refused, malformed answer); the message says what happened."""


class TransientSourceError(SourceError):
    """Worth retrying later: timeouts, 429, 5xx, connection resets. ``retry_after``: what the vendor asked for."""

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class UnsupportedOperation(SourceError):
    """This kind of source cannot do that operation at all (by design, not by failure)."""


class SignatureError(SourceError):
    """A webhook delivery whose signature is missing or does not match the source's secret."""


class PayloadError(ValueError):
    """An inbound payload (webhook body, email) that cannot become a ticket; ``field`` names the culprit."""

    def __init__(self, message: str, *, field: str = "") -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class Rejected:
    """An item of a pull that could not be parsed: quarantined with its error, never dropped."""

    raw: bytes
    error: str
    content_type: str = ""


@dataclass(frozen=True)
class Step:
    """One item of a page in the source's order, with the cursor that resumes right after it."""

    item: NormalizedTicket | Rejected | str  # a ticket, a payload to quarantine, or the kind of a skipped item
    cursor: dict[str, Any]
    raw: bytes = b""  # what the source sent, kept in quarantine if the ticket cannot be stored
    raw_type: str = ""  # its content type


@dataclass(frozen=True)
class Page:
    """One page of a pull: the tickets it holds and the cursor to resume from after storing them.

    A source that knows where each item ends (email: its UID) gives ``steps`` instead of ``tickets``,
    ``skipped`` and ``rejected``: the poll then keeps its place item by item, so an item that fails holds
    back none after it and a poll that stops repeats none before it."""

    tickets: list[NormalizedTicket]
    cursor: dict[str, Any]
    has_more: bool = False
    skipped: dict[str, int] = field(default_factory=dict)  # e.g. {"auto-reply": 1, "bounce": 2}
    rejected: list[Rejected] = field(default_factory=list)
    steps: list[Step] = field(default_factory=list)


@dataclass(frozen=True)
class OutboundMessage:
    """What a sink needs to write a reply back: the ticket's identity at the source and the message."""

    message_id: str  # Gaby's message id: the idempotency key of the write
    ticket_external_id: str
    body: str
    kind: str  # public_reply | internal_note
    author_label: str
    title: str
    contact_email: str = ""
    thread_ids: tuple[str, ...] = ()  # earlier message ids of the thread, oldest first (email References)


@dataclass(frozen=True)
class TimeEntry:
    """One billable time entry for a ticket (apps/billing writes them). ``key`` is Gaby's time record id: it is
    written into the note as ``marker`` so an attempt after a lost answer can look for what the last one wrote."""

    key: str
    ticket_external_id: str
    minutes: int
    note: str
    billable: bool = True
    work_type: str = ""  # Halo charge rate, ConnectWise work type, Autotask billing code
    agreement_id: str = ""  # the contract / agreement the time is charged to
    member_id: str = ""  # Gaby's own agent / member / resource id in the PSA

    @property
    def marker(self) -> str:
        return f"[gaby-time:{self.key}]"


@dataclass(frozen=True)
class Delivered:
    external_id: str  # the source's id for the written message (email: our Message-ID header)


class SourceAdapter:
    kind: ClassVar[str]
    label: ClassVar[str]
    can_poll: ClassVar[bool] = True
    sink_kinds: ClassVar[frozenset[str]] = frozenset()  # message kinds post_reply writes back
    # Ticket fields an operator's change is pushed back for (status, priority, tags, assignee): each has its
    # update_* / assign method implemented against the vendor's API. Empty: changes stay in Gaby.
    writable_fields: ClassVar[frozenset[str]] = frozenset()

    def __init__(self, *, source_id: str, config: Mapping[str, Any]) -> None:
        self.source_id = source_id
        self.config = config

    # --- inbound -----------------------------------------------------------------------------
    def pull_since(self, cursor: Mapping[str, Any]) -> Page:
        """New and updated tickets since ``cursor`` (``{}`` on the first run), one page at a time."""
        raise UnsupportedOperation(f"{self.label} sources do not poll; they receive webhooks.")

    def verify_webhook(self, body: bytes, headers: Mapping[str, str]) -> None:
        """Check the delivery's signature against the source's secret; raise ``SignatureError`` if it fails."""
        raise UnsupportedOperation(f"{self.label} sources do not receive webhooks.")

    def parse_webhook(self, body: bytes, headers: Mapping[str, str]) -> NormalizedTicket:
        """Verify and parse a webhook delivery; raise ``PayloadError`` naming the bad field."""
        raise UnsupportedOperation(f"{self.label} sources do not receive webhooks.")

    # --- links -------------------------------------------------------------------------------
    def ticket_url(self, ticket_external_id: str) -> str | None:
        """The help desk's own web page of a ticket (what an agent opens there), None when the source has none
        (email, webhooks, chat threads). Most are built from the configuration alone; Zoho Desk, Linear and Autotask
        ask the vendor, so this may raise ``SourceError`` or a network error: callers fall back to Gaby's page."""
        return None

    # --- outbound ----------------------------------------------------------------------------
    def post_reply(self, message: OutboundMessage) -> Delivered:
        raise UnsupportedOperation(f"{self.label} sources cannot receive replies from Gaby.")

    def update_status(self, ticket_external_id: str, status: str) -> None:
        raise UnsupportedOperation(f"{self.label} sources have no status to update.")

    def update_priority(self, ticket_external_id: str, priority: str) -> None:
        raise UnsupportedOperation(f"{self.label} sources have no priority to update.")

    def update_tags(self, ticket_external_id: str, tags: list[str]) -> None:
        raise UnsupportedOperation(f"{self.label} sources have no tags to update.")

    def assign(self, ticket_external_id: str, assignee_email: str) -> None:
        """Assign to the agent with this email at the source; an empty email unassigns."""
        raise UnsupportedOperation(f"{self.label} sources have no assignee to set.")

    def log_time_entry(self, ticket_external_id: str, *, minutes: int, note: str, billable: bool) -> None:
        """PSA billable time write-back (MSP); only PSA adapters (HaloPSA, Autotask, ConnectWise...) implement it."""
        raise UnsupportedOperation(f"{self.label} is not a PSA: it has no time entries to log.")

    def write_time_entry(self, entry: TimeEntry) -> str:
        """Write ``entry`` (its marker at the end of the note); returns the source's id for it, "" when the source
        does not say. This default goes through ``log_time_entry``, so any source that logs time can be written to;
        a PSA adapter overrides it to send the work type, agreement and member as well."""
        note = f"{entry.note}\n\n{entry.marker}" if entry.note else entry.marker
        self.log_time_entry(entry.ticket_external_id, minutes=entry.minutes, note=note, billable=entry.billable)
        return ""

    def find_time_entry(self, entry: TimeEntry) -> str | None:
        """The id of a time entry an earlier attempt of ``entry`` wrote (found by its marker), None when there is
        none; raises ``UnsupportedOperation`` when the source cannot be asked."""
        raise UnsupportedOperation(f"{self.label} cannot be asked which time entries a ticket has.")
