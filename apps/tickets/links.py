"""Where a ticket lives in its help desk: the page an agent opens there, for "Open in <help desk>" buttons.

The ticket source's adapter knows the address (``SourceAdapter.ticket_url``); a source with no web page (email,
webhooks, chat threads) or a vendor that cannot be asked right now gives None, and the caller links Gaby's own
ticket page instead. A vendor's failure is logged, never raised: a link must not stop a notice.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from apps.tickets.models import Ticket
from apps.tickets.selectors import source_config
from apps.tickets.sources.base import SourceError
from apps.tickets.sources.registry import adapter_for
from tenants.models import Client

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class HelpDeskLink:
    label: str  # the help desk's name, e.g. "Zendesk"
    url: str


def help_desk_link(client: Client, ticket: Ticket) -> HelpDeskLink | None:
    """The ticket's page in its help desk (inside the client's schema), None when there is none to open."""
    source = ticket.source
    try:
        adapter = adapter_for(source, config=source_config(client=client, source=source))
        url = adapter.ticket_url(ticket.external_id)
    except (SourceError, ValueError, OSError) as exc:
        log.warning(
            "the help desk's ticket page could not be found; linking Gaby's",
            extra={"ticket": str(ticket.pk), "source": source.kind, "error": str(exc)[:300]},
        )
        return None
    if not url or not url.startswith(("https://", "http://")):
        return None
    return HelpDeskLink(label=adapter.label, url=url)
