"""What every adapter hands to ``services.ingest_ticket``: plain data, no database, no vendor shapes."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from apps.core.html_text import HiddenPart


@dataclass(frozen=True)
class NormalizedAttachment:
    """A file of a message. Email carries its ``content``; a help desk gives ``fetch``, which downloads it
    only when ingestion stores the message (never for a message already known), raising ``SourceError``
    when it cannot (too large, refused): the message is stored anyway, with the attachment's error."""

    filename: str
    content_type: str
    content: bytes = b""
    external_id: str = ""  # the vendor's attachment id: one stored copy per message and id
    size: int | None = None  # what the vendor declared, before downloading
    fetch: Callable[[], tuple[bytes, str]] | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True)
class NormalizedContact:
    email: str = ""
    name: str = ""
    external_id: str = ""
    authentication: str = ""  # the channel's verdict on this sender ("spf=pass dkim=pass dmarc=pass"), if any


@dataclass(frozen=True)
class NormalizedMessage:
    external_id: str  # the source's message id (email: Message-ID); "" when the source has none
    body: str
    author_label: str = ""
    direction: str = "inbound"
    kind: str = "public_reply"
    created_at: datetime | None = None
    attachments: tuple[NormalizedAttachment, ...] = ()
    # Words the message's HTML hid from its reader (apps/core/html_text.py): never part of ``body``, kept for the
    # suspicion check (apps/safety/suspicion.py, ``hidden_text``).
    hidden: tuple[HiddenPart, ...] = ()


@dataclass(frozen=True)
class NormalizedTicket:
    """One ticket as a source sees it now; fields left as None are not changed on an update."""

    external_id: str
    title: str
    body: str = ""
    contact: NormalizedContact | None = None
    priority: str | None = None
    status: str | None = None
    sla_due_at: datetime | None = None
    tags: tuple[str, ...] | None = None
    messages: tuple[NormalizedMessage, ...] = ()
    # Ids of earlier messages this one answers (email References / In-Reply-To): an unknown
    # external_id that refers to a known message joins that message's ticket instead of opening one.
    thread_refs: tuple[str, ...] = field(default_factory=tuple)
