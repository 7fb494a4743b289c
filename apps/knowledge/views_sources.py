"""Knowledge > Sources: the list with live sync status, adding a source, "sync now"."""

from __future__ import annotations

from uuid import UUID

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.views.decorators.http import require_POST

from apps.accounts.access import require_role
from apps.accounts.models import Role
from apps.core.http import ClientRequest, leave_for, partial_or_redirect, render_page
from apps.knowledge import services
from apps.knowledge.accessors import get_source_for_client, open_candidate_count, sources_for_client
from apps.knowledge.forms import SourceForm
from apps.knowledge.uploads import store_uploads


def _render(
    request: ClientRequest, *, form: SourceForm | None = None, partial: str = "", status: int = 200
) -> HttpResponse:
    context = {
        "tab": "sources",
        "sources": sources_for_client(request),
        "form": form or SourceForm(),
        "can_write": request.membership.allows(Role.AGENT),
        "can_admin": request.membership.allows(Role.ADMIN),
        "open_candidates": open_candidate_count(),
    }
    return render_page(request, "knowledge/sources.html", context, partial=partial, status=status)


def index(request: ClientRequest) -> HttpResponse:
    return _render(request)


@require_POST
@require_role(Role.ADMIN)
def new_source(request: ClientRequest) -> HttpResponse:
    form = SourceForm(request.POST)
    if form.is_valid():
        try:
            source = services.create_source(
                kind=form.cleaned_data["kind"],
                name=form.cleaned_data["name"],
                config=form.config(),
                schedule_minutes=form.cleaned_data["schedule_minutes"],
                server_paths=request.user.is_msp_staff,
            )
        except ValidationError as exc:
            if hasattr(exc, "error_dict"):
                for field, errors in exc.error_dict.items():
                    form.add_error(field if field in form.fields else None, errors)
            else:
                form.add_error(None, exc)
        else:
            services.request_sync(source=source)
            messages.success(request, f"{source.name} added; its first sync is queued.")
            return leave_for(request, "knowledge:index")
    return _render(request, form=form, partial="source-form", status=400)


@require_POST
def sync(request: ClientRequest, source_id: UUID) -> HttpResponse:
    source = get_source_for_client(request, source_id)
    if services.request_sync(source=source):
        messages.success(request, f"Sync of {source.name} queued.")
    else:
        messages.error(request, f"{source.name} is already queued or syncing.")
    return partial_or_redirect(request, lambda: _render(request, partial="sources"), "knowledge:index")


@require_POST
def upload(request: ClientRequest) -> HttpResponse:
    try:
        source, names = store_uploads(files=request.FILES.getlist("files"))
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return partial_or_redirect(request, lambda: _render(request, partial="sources", status=400), "knowledge:index")
    queued = services.request_sync(source=source)
    note = "indexing now" if queued else "they will be indexed once the current sync finishes; sync again then"
    messages.success(request, f"Uploaded {', '.join(names)}: {note}.")
    return partial_or_redirect(request, lambda: _render(request, partial="sources"), "knowledge:index")


@require_POST
@require_role(Role.ADMIN)
def delete_source(request: ClientRequest, source_id: UUID) -> HttpResponse:
    source = get_source_for_client(request, source_id)
    try:
        services.delete_source(source=source)
        messages.success(request, f"{source.name} and its index were deleted.")
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return partial_or_redirect(request, lambda: _render(request, partial="sources", status=400), "knowledge:index")
    return partial_or_redirect(request, lambda: _render(request, partial="sources"), "knowledge:index")
