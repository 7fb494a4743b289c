"""``/partners/ninjaone/`` on the MSP portal: map NinjaOne organizations onto Gaby clients through the MSP's one
NinjaOne API client app (apps/connectors/ninjaone_mapping.py, the same steps as ``gaby connect-ninjaone``), with
each client's PSA company mapping shown read-only beside it (the ticket source's company id). MSP staff only.

One form: the API client app, then "List organizations" swaps in each organization with the client it serves
already or a client select (the suggestion chosen), and "Connect" swaps in the connector made per client. The
secret stays in the browser's field and is posted with each step; it is never rendered back.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django import forms
from django.http import HttpResponse
from django.views.decorators.http import require_POST
from django_tenants.utils import tenant_context

from apps.accounts.access import msp_staff_required
from apps.accounts.context import jump_url
from apps.connectors import client_mapping, ninjaone_mapping
from apps.core.http import GabyRequest, render_page
from apps.core.secrets import SecretError
from apps.tickets.models import TicketSource
from apps.tickets.selectors import source_config
from tenants.models import Client

TEMPLATE = "onboarding/ninjaone.html"
MAP_PREFIX = "map-"
# The PSA ticket sources filtered to one company, and the setting holding that company's record id.
PSA_COMPANY = {"connectwise": "cw_company_id", "halopsa": "halo_client_id", "autotask": "at_company_id"}


class NinjaForm(forms.Form):
    url = forms.URLField(
        label="NinjaOne URL",
        max_length=500,
        help_text="Your instance, e.g. https://app.ninjarmm.com.",
        assume_scheme="https",
    )
    client_id = forms.CharField(label="API client ID", max_length=200)
    client_secret = forms.CharField(
        label="Client secret",
        max_length=1000,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}),
    )
    allowed_scripts = forms.CharField(
        label="Scripts allowed without approval",
        required=False,
        max_length=1000,
        help_text="Library scripts (names or ids, comma-separated) each new connector runs without an approver.",
    )


@dataclass(frozen=True)
class PsaMapping:
    client: Client
    source: str  # the ticket source's name
    kind: str  # its PSA
    company: str  # the company record id it is filtered to ("" when its configuration cannot be read)


def psa_mappings() -> list[PsaMapping]:
    """Each client's PSA sources and the company each is filtered to, read-only."""
    found = []
    for client in client_mapping.clients(active_only=False):
        with tenant_context(client):
            for source in TicketSource.objects.filter(kind__in=PSA_COMPANY).order_by("name"):
                try:
                    company = str(source_config(client=client, source=source).get(PSA_COMPANY[source.kind], ""))
                except SecretError:
                    company = ""
                found.append(PsaMapping(client, source.name, source.get_kind_display(), company))
    return found


def _given(request: GabyRequest) -> tuple[dict[str, Any] | None, list[str]]:
    form = NinjaForm(request.POST)
    if not form.is_valid():
        return None, [
            f"{form.fields[name].label}: {' '.join(map(str, errors))}" for name, errors in form.errors.items()
        ]
    return form.cleaned_data, []


def _work(request: GabyRequest, context: dict[str, Any], *, status: int = 200) -> HttpResponse:
    return render_page(request, TEMPLATE, {"form": NinjaForm(), **context}, partial="work", status=status)


@msp_staff_required
def page(request: GabyRequest) -> HttpResponse:
    return render_page(request, TEMPLATE, {"form": NinjaForm(), "psa": psa_mappings()})


@require_POST
@msp_staff_required
def organizations(request: GabyRequest) -> HttpResponse:
    given, errors = _given(request)
    if given is None:
        return _work(request, {"errors": errors}, status=400)
    try:
        found = ninjaone_mapping.listing(given)
    except ninjaone_mapping.MappingError as exc:
        return _work(request, {"errors": [str(exc)]}, status=400)
    clients = client_mapping.clients()
    return _work(request, {"organizations": found, "clients": clients})


@require_POST
@msp_staff_required
def connect(request: GabyRequest) -> HttpResponse:
    given, errors = _given(request)
    if given is None:
        return _work(request, {"errors": errors}, status=400)
    chosen: dict[int, str] = {}
    for key, value in request.POST.items():
        slug = str(value).strip()
        if key.startswith(MAP_PREFIX) and key.removeprefix(MAP_PREFIX).isdigit() and slug:
            chosen[int(key.removeprefix(MAP_PREFIX))] = slug
    if not chosen:
        return _work(request, {"errors": ["Choose a client for at least one organization."]}, status=400)
    clients = {c.slug: c for c in client_mapping.clients() if c.slug in set(chosen.values())}
    unknown = sorted(set(chosen.values()) - set(clients))
    if unknown:
        return _work(request, {"errors": [f"No Gaby client {', '.join(unknown)}: list again."]}, status=400)
    scripts = [name.strip() for name in str(given.get("allowed_scripts") or "").split(",") if name.strip()]
    try:
        connected = ninjaone_mapping.connect_clients(
            given,
            mapping={org: clients[slug] for org, slug in chosen.items()},
            allowed_scripts=scripts,
            actor=request.user,
        )
    except ninjaone_mapping.MappingError as exc:
        return _work(request, {"errors": [str(exc)]}, status=400)
    rows = [{"item": item, "url": jump_url(request, item.client)} for item in connected]
    return _work(request, {"connected": rows})
