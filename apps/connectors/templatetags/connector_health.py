"""``{% connector_health client %}``: a client's connector status in one line, for the MSP portal (CON-5)."""

from __future__ import annotations

from django import template
from django_tenants.utils import schema_context

from apps.connectors.models import Connector, Status
from tenants.models import Client

register = template.Library()


@register.inclusion_tag("connectors/_health_summary.html")
def connector_health(client: Client) -> dict[str, object]:
    with schema_context(client.schema_name):
        statuses = list(Connector.objects.filter(enabled=True).values_list("status", flat=True))
    failing = sum(1 for status in statuses if status in (Status.DOWN, Status.DEGRADED))
    return {"client": client, "total": len(statuses), "failing": failing}
