"""``/partners/microsoft365/`` on the MSP portal: connect every client's Microsoft 365 tenant in one go through the
MSP's partner (GDAP) app (apps/connectors/m365_partner.py). MSP staff only.

One form: the partner connection, then "List customer tenants" swaps in the customers with a client select each
(the suggestion chosen), and "Connect" swaps in the outcome per client. A listing keeps the partner connection
(apps/connectors/m365_partner_store.py: the secret sealed) and says what changed since the previous one; the page
then offers the kept tenant and app, and an empty secret field uses the kept secret. A secret is never rendered
back into the page.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.http import HttpResponse
from django.views.decorators.http import require_POST

from apps.accounts.access import msp_staff_required
from apps.accounts.context import jump_url
from apps.connectors import m365_partner, m365_partner_store
from apps.core.http import GabyRequest, render_page
from apps.onboarding.client_domains import client_domains
from tenants.models import Client

TEMPLATE = "onboarding/m365_partner.html"
MAP_PREFIX = "map-"


class PartnerForm(forms.Form):
    tenant_id = forms.CharField(
        label="Your partner tenant ID", max_length=200, help_text="The MSP's own Entra ID tenant (GUID or domain)."
    )
    client_id = forms.CharField(
        label="App (client) ID", max_length=64, help_text="Your multi-tenant app registration's Application ID."
    )
    client_secret = forms.CharField(
        label="Client secret",
        max_length=1000,
        required=False,
        help_text="Empty: the secret kept from this tenant and app's last listing.",
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}),
    )
    authority = forms.CharField(
        label="Sign-in authority", required=False, max_length=500, help_text="Empty: login.microsoftonline.com."
    )
    graph_url = forms.CharField(
        label="Graph URL", required=False, max_length=500, help_text="Empty: graph.microsoft.com."
    )
    ca_file = forms.CharField(
        label="CA file on the Gaby host", required=False, max_length=500, help_text="Only for a private test endpoint."
    )


def _partner(request: GabyRequest) -> tuple[m365_partner.Partner | None, list[str]]:
    form = PartnerForm(request.POST)
    if not form.is_valid():
        return None, [
            f"{form.fields[name].label}: {' '.join(map(str, errors))}" for name, errors in form.errors.items()
        ]
    try:
        return m365_partner_store.partner_given(form.cleaned_data), []
    except m365_partner.PartnerError as exc:
        return None, [str(exc)]


def _work(request: GabyRequest, context: dict[str, Any], *, status: int = 200) -> HttpResponse:
    return render_page(request, TEMPLATE, {"form": PartnerForm(), **context}, partial="work", status=status)


@msp_staff_required
def page(request: GabyRequest) -> HttpResponse:
    kept = m365_partner_store.latest()
    initial = {"tenant_id": kept.tenant_id, "client_id": kept.client_id, **kept.endpoints} if kept else {}
    return render_page(request, TEMPLATE, {"form": PartnerForm(initial=initial), "kept": kept})


@require_POST
@msp_staff_required
def customers(request: GabyRequest) -> HttpResponse:
    partner, errors = _partner(request)
    if partner is None:
        return _work(request, {"errors": errors}, status=400)
    clients = list(Client.objects.exclude(schema_name="public").filter(is_active=True))
    try:
        found = m365_partner.listing(partner, client_domains=client_domains(clients))
    except m365_partner.PartnerError as exc:
        return _work(request, {"errors": [str(exc)]}, status=400)
    since = m365_partner_store.remember(partner, [row.customer for row in found.rows], actor=request.user)
    return _work(request, {"listing": found, "since": since})


@require_POST
@msp_staff_required
def connect(request: GabyRequest) -> HttpResponse:
    partner, errors = _partner(request)
    if partner is None:
        return _work(request, {"errors": errors}, status=400)
    chosen = {key.removeprefix(MAP_PREFIX): str(request.POST.get(key, "")).strip() for key in request.POST}
    slugs = {tenant: slug for tenant, slug in chosen.items() if slug and f"{MAP_PREFIX}{tenant}" in request.POST}
    clients = {c.slug: c for c in Client.objects.exclude(schema_name="public").filter(slug__in=slugs.values())}
    unknown = sorted(set(slugs.values()) - set(clients))
    if unknown:
        return _work(request, {"errors": [f"No Gaby client {', '.join(unknown)}: list the tenants again."]}, status=400)
    if not slugs:
        return _work(request, {"errors": ["Choose a client for at least one customer tenant."]}, status=400)
    try:
        outcomes = m365_partner.connect_clients(
            partner, mapping={tenant: clients[slug] for tenant, slug in slugs.items()}, actor=request.user
        )
    except m365_partner.PartnerError as exc:
        return _work(request, {"errors": [str(exc)]}, status=400)
    rows = [{"outcome": o, "url": jump_url(request, o.client)} for o in outcomes]
    return _work(request, {"outcomes": rows})
