"""A ticket's requester and its suspicion flags, read from the client's own records (its schema).

``requester_of`` is the one place that says who a ticket acts for: the channel's contact (email ``From``, the
help desk's requester, the widget's visitor), the receiving server's authentication verdict recorded when the
ticket arrived, and whether an Admin listed that address as an authorized contact. Never a string from the text.
"""

from __future__ import annotations

from django.db.models import Min, Value
from django.db.models.functions import Lower, StrIndex, Substr

from apps.safety import suspicion
from apps.safety.models import AuthorizedContact
from apps.safety.requester import Requester
from apps.tickets.models import Contact, Ticket

MAX_KNOWN_DOMAINS = 5000


def is_authorized_contact(email: str) -> bool:
    # Stored lower-case (apps/safety/contacts.py), so an exact match can use the unique index.
    return bool(email) and AuthorizedContact.objects.filter(email=email.strip().lower()).exists()


def requester_of(ticket: Ticket) -> Requester:
    contact = ticket.contact
    email = contact.email if contact else ""
    authentication = ticket.requester_authentication
    return Requester(
        email=email,
        name=contact.name if contact else "",
        channel=ticket.source.kind,
        authentication=authentication,
        authorized_for_others=is_authorized_contact(email),
    )


def known_domains() -> list[str]:
    """The domains this client's contacts write from, the longest known first."""
    rows = (
        Contact.objects.exclude(email="")
        .annotate(domain=Lower(Substr("email", StrIndex("email", Value("@")) + 1)))
        .values("domain")
        .annotate(first_seen=Min("created_at"))
        .order_by("first_seen")
        .values_list("domain", flat=True)
    )
    return list(rows[:MAX_KNOWN_DOMAINS])


def flags_for(requester: Requester, *, text: str, hidden: list[tuple[str, str]] | None = None) -> list[suspicion.Flag]:
    """The suspicion flags of a ticket from ``requester`` whose whole text is ``text`` and whose messages hid
    ``hidden`` from their reader."""
    namesakes: list[str] = []
    if requester.name.strip():
        namesakes = list(
            Contact.objects.filter(name__iexact=requester.name.strip())
            .exclude(email__iexact=requester.email)
            .exclude(email="")
            .values_list("email", flat=True)[:5]
        )
    return suspicion.flags(
        sender=requester.email,
        sender_name=requester.name,
        authentication=requester.authentication,
        text=text,
        known_domains=known_domains(),
        namesakes=namesakes,
        hidden=hidden or [],
    )
