"""Widget configuration (Admin) and the public widget script."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from uuid import UUID

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.views.decorators.http import require_GET, require_POST

from apps.accounts.access import public_view, require_role
from apps.accounts.models import Role
from apps.chat import widgets as widget_services
from apps.chat.accessors import get_widget_for_client
from apps.chat.forms import WidgetForm
from apps.chat.models import Widget
from apps.core.http import ClientRequest, render_page

WIDGET_JS = Path(__file__).resolve().parent / "static" / "chat" / "widget.js"


@cache
def _widget_source() -> bytes:
    return WIDGET_JS.read_bytes()


@public_view
@require_GET
def widget_js(request: HttpRequest) -> HttpResponse:
    """The widget, for any site's <script> tag: public, cacheable, the same file for every widget."""
    response = HttpResponse(_widget_source(), content_type="text/javascript; charset=utf-8")
    response["Cache-Control"] = "public, max-age=300"
    response["Cross-Origin-Resource-Policy"] = "cross-origin"
    return response


def _initial(widget: Widget) -> dict[str, object]:
    return {
        "name": widget.name,
        "allowed_origins": "\n".join(widget.allowed_origins),
        "greeting": widget.greeting,
        "persona_name": widget.persona_name,
        "persona_avatar_url": widget.persona_avatar_url,
        "theme": widget.theme,
        "business_hours": widget.business_hours,
        "identity_mode": widget.identity_mode,
        "enabled": widget.enabled,
    }


def _page(
    request: ClientRequest,
    *,
    form: WidgetForm | None = None,
    editing: Widget | None = None,
    status: int = 200,
    secret: str = "",
) -> HttpResponse:
    context = {
        "widgets": Widget.objects.all(),
        "form": form or (WidgetForm(initial=_initial(editing)) if editing else WidgetForm()),
        "editing": editing,
        "base_url": f"{request.scheme}://{request.get_host()}",
        "secret": secret,
        "can_manage": request.membership.allows(Role.ADMIN),
    }
    return render_page(request, "chat/widgets.html", context, status=status)


def _save(request: ClientRequest, form: WidgetForm, editing: Widget | None) -> HttpResponse:
    if not form.is_valid():
        return _page(request, form=form, editing=editing, status=400)
    try:
        if editing is None:
            editing = widget_services.create_widget(
                client=request.tenant, changes=form.cleaned_data, actor=request.user
            )
        else:
            widget_services.update_widget(widget=editing, changes=form.cleaned_data, actor=request.user)
    except ValidationError as exc:
        for field, errors in exc.message_dict.items():
            form.add_error(field if field in form.fields else None, errors)
        return _page(request, form=form, editing=editing if editing and editing.pk else None, status=400)
    messages.success(request, f"Widget “{editing.name}” saved.")
    return redirect("chat:widget_edit", editing.pk)


@require_role(Role.ADMIN)
def widgets(request: ClientRequest) -> HttpResponse:
    return _page(request)


@require_POST
@require_role(Role.ADMIN)
def create(request: ClientRequest) -> HttpResponse:
    return _save(request, WidgetForm(request.POST), None)


@require_role(Role.ADMIN)
def edit(request: ClientRequest, widget_id: UUID) -> HttpResponse:
    widget = get_widget_for_client(request, widget_id)
    if request.method == "POST":
        return _save(request, WidgetForm(request.POST), widget)
    return _page(request, editing=widget)


@require_POST
@require_role(Role.ADMIN)
def rotate_secret(request: ClientRequest, widget_id: UUID) -> HttpResponse:
    widget = get_widget_for_client(request, widget_id)
    secret = widget_services.rotate_identity_secret(client=request.tenant, widget=widget, actor=request.user)
    messages.success(request, "New identity secret: copy it now, it is shown only once.")
    return _page(request, editing=widget, secret=secret)
