"""One Autotask connection, set up once by the MSP, feeding many Gaby clients: Autotask company → Gaby client.

The mechanism every PSA shares (apps/tickets/psa_mapping.py): for each mapped Autotask company, an Autotask source
in the chosen Gaby client's schema holding the same API user and integration code and that ``at_company_id``,
which filters every pull and refuses other companies' tickets on callouts. Each source gets its own webhook secret
key; ``register_webhooks`` creates a ``TicketWebhooks`` webhook per source at Autotask calling that source's URL
(signed with its secret, apps/tickets/sources/autotask/webhooks.py), and ``unregister_webhooks`` deletes them. The
poll stays on behind the webhook: a callout Autotask never sends is read by the next poll.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django_tenants.utils import tenant_context

from apps.tickets import psa_mapping, services
from apps.tickets.models import SourceKind, TicketSource
from apps.tickets.psa_mapping import Connected
from apps.tickets.sources.autotask.adapter import AutotaskAdapter
from apps.tickets.sources.autotask.webhooks import deactivation_token
from tenants.addresses import client_domain
from tenants.models import Client

__all__ = [
    "CONNECTION_KEYS",
    "LINK",
    "REQUIRED_KEYS",
    "at_companies",
    "register_webhooks",
    "unregister_webhooks",
    "webhook_urls",
]

REQUIRED_KEYS = ("username", "secret", "integration_code")
CONNECTION_KEYS = (*REQUIRED_KEYS, "webservices_url")  # webservices_url: only to point at another host (a stand-in)


def at_companies(connection: Mapping[str, Any]) -> dict[int, str]:
    """Every active Autotask company the API user sees, id → name: what can be mapped."""
    return AutotaskAdapter(source_id="mapping", config={**connection, "at_company_id": "0"}).companies()


LINK = psa_mapping.PsaLink(
    kind=SourceKind.AUTOTASK,
    label="Autotask",
    company_key="at_company_id",
    connection_keys=CONNECTION_KEYS,
    required_keys=REQUIRED_KEYS,
    instance_key="username",  # an API user belongs to one Autotask database
    companies=lambda connection: at_companies(connection),
    example="174=hartwell",
    hook_key="webhook_secret",
    noun="company",
)


def webhook_urls(client: Client, source: TicketSource, secret: str) -> tuple[str, str]:
    """Where Autotask posts this source's callouts, and where it says the webhook was deactivated."""
    base = f"https://{client_domain(client.slug)}/api/v1/sources/{source.pk}/webhook/autotask"
    return base, f"{base}/deactivated/{deactivation_token(secret)}"


def register_webhooks(made: list[Connected]) -> list[int]:
    """Create each new source's ticket webhook at Autotask and keep its id in the source; the ids."""
    ids = []
    for item in made:
        with tenant_context(item.client):
            config = services.source_config(client=item.client, source=item.source)
            adapter = AutotaskAdapter(source_id=str(item.source.pk), config=config)
            url, deactivation = webhook_urls(item.client, item.source, str(config["webhook_secret"]))
            webhook_id = adapter.register_webhook(url, deactivation, name=f"Gaby · {item.client.name}")
            services.update_source_config(
                client=item.client, source=item.source, config={**config, "webhook_id": webhook_id}
            )
        ids.append(webhook_id)
    return ids


def unregister_webhooks(client: Client) -> list[int]:
    """Delete the ticket webhooks of this client's Autotask sources at Autotask (their polls go on); the ids."""
    removed = []
    with tenant_context(client):
        for source in TicketSource.objects.filter(kind=SourceKind.AUTOTASK):
            config = services.source_config(client=client, source=source)
            webhook_id = config.get("webhook_id")
            if not webhook_id:
                continue
            AutotaskAdapter(source_id=str(source.pk), config=config).unregister_webhook(int(webhook_id))
            kept = {key: value for key, value in config.items() if key != "webhook_id"}
            services.update_source_config(client=client, source=source, config=kept)
            removed.append(int(webhook_id))
    return removed
