"""Which client a Teams activity belongs to: its Entra tenant (``channelData.tenant.id``) → the client whose Teams
install routes that tenant (the foundation's ``surfaces.routing.client_for``); failing that, the client whose
Microsoft 365 connector serves that tenant (the MSP's partner mapping, ``apps.connectors.m365_partner``) when that
client has an enabled Teams install for it. Anything else is an unknown tenant: refused and logged by the view."""

from __future__ import annotations

from django_tenants.utils import tenant_context

from apps.chat.models import ChatSurfaceInstall
from apps.chat.surfaces import routing
from apps.connectors import m365_partner
from tenants.models import Client

KIND = "teams"


def client_for(tenant_id: str) -> Client | None:
    tenant_id = tenant_id.strip().lower()
    if not tenant_id:
        return None
    routed = routing.client_for(KIND, tenant_id)
    if routed is not None:
        return routed
    for served in m365_partner.existing():
        if served.tenant_id == tenant_id and served.client.is_active:
            with tenant_context(served.client):
                if ChatSurfaceInstall.objects.filter(kind=KIND, workspace_id=tenant_id, enabled=True).exists():
                    return served.client
    return None
