"""Connectors pages: list with status, connect (test, then save), one connector's tools and events.

Everyone with a membership reads; Admins connect, test, change and revoke (``@require_role``).
Secrets are never rendered back: a page shows only which ones are set.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from uuid import UUID

from django.core.exceptions import ValidationError
from django.db.models import Count, Q
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.views.decorators.http import require_POST

from apps.accounts.access import require_role
from apps.accounts.models import Role
from apps.connectors import catalog, services
from apps.connectors.forms import FORMS, PAGES, ConnectForm
from apps.connectors.host import ConnectorError
from apps.connectors.models import Access, Connector, ConnectorEvent
from apps.core.http import ClientRequest, leave_for, render_page

EVENTS_SHOWN = 50


def get_connector_for_client(request: ClientRequest, connector_id: UUID) -> Connector:
    """Scoped accessor: the request runs in its client's schema, so only that client's connectors exist here."""
    return get_object_or_404(Connector, pk=connector_id)


def _form(kind: str, data: Any = None) -> ConnectForm:
    form_class = FORMS.get(kind)
    if form_class is None:
        raise Http404(f"Unknown connector kind: use one of {', '.join(FORMS)}.")
    return form_class(data)


def index(request: ClientRequest) -> HttpResponse:
    present = Q(tools__present=True)
    connectors = Connector.objects.annotate(
        read_tools=Count("tools", filter=present & Q(tools__access=Access.READ)),
        write_tools=Count("tools", filter=present & Q(tools__access=Access.WRITE)),
    ).order_by("name")
    return render(
        request,
        "connectors/index.html",
        {
            "connectors": connectors,
            "can_manage": request.membership.allows(Role.ADMIN),
            "catalog": catalog.by_category(),
        },
    )


@require_role(Role.ADMIN)
def new(request: ClientRequest, kind: str) -> HttpResponse:
    return render(request, "connectors/new.html", _new_context(kind, _form(kind)))


def _new_context(kind: str, form: Any, **extra: Any) -> dict[str, Any]:
    title, intro = PAGES[kind]
    return {"form": form, "kind": kind, "title": title, "intro": intro, **extra}


def _render_new(
    request: ClientRequest, kind: str, form: Any, *, tools: Any = None, error: str = "", status: int = 200
) -> HttpResponse:
    context = _new_context(kind, form, tools=tools, error=error, tested=tools is not None or bool(error))
    return render_page(request, "connectors/new.html", context, partial="connect", status=status)


def _errors(form: Any, exc: ValidationError) -> None:
    if hasattr(exc, "error_dict"):
        for field, messages in exc.message_dict.items():
            form.add_error(field if field in form.fields else None, messages)
    else:
        form.add_error(None, exc.messages)


def _submit(request: ClientRequest, kind: str, act: Callable[[ConnectForm], HttpResponse]) -> HttpResponse:
    """Validate the Connect form, then ``act`` on it; bad input is a 400 and a failed connection a 502, both
    re-rendering the form with what to fix."""
    form = _form(kind, request.POST)
    if not form.is_valid():
        return _render_new(request, kind, form, status=400)
    try:
        return act(form)
    except ValidationError as exc:
        _errors(form, exc)
        return _render_new(request, kind, form, status=400)
    except ConnectorError as exc:
        return _render_new(request, kind, form, error=str(exc), status=502)


@require_POST
@require_role(Role.ADMIN)
def test_connection(request: ClientRequest, kind: str) -> HttpResponse:
    def probe(form: ConnectForm) -> HttpResponse:
        tools = services.test_connection(client=request.tenant, draft=form.draft(), actor=request.user)
        return _render_new(request, kind, form, tools=tools)

    return _submit(request, kind, probe)


@require_POST
@require_role(Role.ADMIN)
def create(request: ClientRequest, kind: str) -> HttpResponse:
    def save(form: ConnectForm) -> HttpResponse:
        connector = services.connect(client=request.tenant, draft=form.draft(), actor=request.user, **form.options())
        return leave_for(request, "connectors:detail", connector.pk)

    return _submit(request, kind, save)


def _render_detail(request: ClientRequest, connector: Connector, *, partial: str = "", error: str = "") -> HttpResponse:
    context = {
        "connector": connector,
        "tools": connector.tools.filter(present=True).order_by("access", "name"),
        "events": ConnectorEvent.objects.filter(connector=connector)[:EVENTS_SHOWN],
        "can_manage": request.membership.allows(Role.ADMIN),
        "error": error,
    }
    return render_page(request, "connectors/detail.html", context, partial=partial, status=400 if error else 200)


def detail(request: ClientRequest, connector_id: UUID) -> HttpResponse:
    return _render_detail(request, get_connector_for_client(request, connector_id))


@require_POST
@require_role(Role.ADMIN)
def refresh_tools(request: ClientRequest, connector_id: UUID) -> HttpResponse:
    connector = get_connector_for_client(request, connector_id)
    try:
        services.sync_tools(connector=connector)
    except ConnectorError as exc:
        return _render_detail(request, connector, partial="panel", error=str(exc))
    return _render_detail(request, connector, partial="panel")


@require_POST
@require_role(Role.ADMIN)
def check_now(request: ClientRequest, connector_id: UUID) -> HttpResponse:
    connector = get_connector_for_client(request, connector_id)
    services.check_health(connector=connector)
    connector.refresh_from_db()
    return _render_detail(request, connector, partial="panel")


@require_POST
@require_role(Role.ADMIN)
def set_enabled(request: ClientRequest, connector_id: UUID) -> HttpResponse:
    connector = get_connector_for_client(request, connector_id)
    services.set_enabled(connector=connector, enabled=request.POST.get("enabled") == "1", actor=request.user)
    return _render_detail(request, connector, partial="panel")
