"""Saving the inbox's current filters as a named view, and deleting one (each person's own)."""

from __future__ import annotations

from uuid import UUID

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse
from django.urls import reverse
from django.views.decorators.http import require_POST

from apps.core.http import ClientRequest, leave_for
from apps.tickets import saved_views


@require_POST
def save(request: ClientRequest) -> HttpResponse:
    query = request.POST.get("query", "")[:1000]
    try:
        view = saved_views.save_view(user_id=request.user.pk, name=request.POST.get("name", ""), query=query)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return leave_for(request, f"{reverse('tickets:inbox')}?{saved_views.normalised(query)}")
    messages.success(request, f"Saved the view “{view.name}”.")
    return leave_for(request, f"{reverse('tickets:inbox')}?{view.query}")


@require_POST
def delete(request: ClientRequest, view_id: UUID) -> HttpResponse:
    if not saved_views.delete_view(user_id=request.user.pk, view_id=view_id):
        raise Http404("No such view of yours.")
    messages.success(request, "View deleted.")
    return leave_for(request, "tickets:inbox")
