"""The approval queue (SAF-3) and recent tool actions with undo (SAF-6)."""

from __future__ import annotations

from uuid import UUID

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from apps.core.http import ClientRequest, partial_or_redirect, render_page
from apps.safety import enforcement
from apps.safety.live import queue_context
from apps.safety.models import ToolAction
from apps.safety.tool_secrets import RevealError, reveal

RECENT = 50


def get_action_for_client(request: ClientRequest, action_id: UUID) -> ToolAction:
    """Scoped accessor: the action must be in the current client's schema (it cannot be anywhere else)."""
    return get_object_or_404(ToolAction.objects.select_related("connector"), pk=action_id)


def approvals(request: ClientRequest) -> HttpResponse:
    context = {
        **queue_context(),
        "recent": ToolAction.objects.exclude(status="awaiting_approval").select_related("connector")[:RECENT],
        "me": str(request.user.pk),  # the approver of an action that returned a secret may see it once
    }
    return render(request, "safety/approvals.html", context)


def _queue(request: ClientRequest, *, status: int = 200) -> HttpResponse:
    return render_page(request, "safety/approvals.html", queue_context(), partial="queue", status=status)


def _after(request: ClientRequest) -> HttpResponse:
    return partial_or_redirect(request, lambda: _queue(request), "safety:approvals")


@require_POST
def approve(request: ClientRequest, action_id: UUID) -> HttpResponse:
    action = get_action_for_client(request, action_id)
    try:
        enforcement.approve(action=action, actor=request.user, note=request.POST.get("note", ""))
        messages.success(request, f"Approved: {action.tool_name} will run once.")
    except enforcement.ActionError as exc:
        messages.error(request, str(exc))
    return _after(request)


@require_POST
def reject(request: ClientRequest, action_id: UUID) -> HttpResponse:
    action = get_action_for_client(request, action_id)
    try:
        enforcement.reject(action=action, actor=request.user, note=request.POST.get("note", ""))
        messages.success(request, f"Rejected: {action.tool_name} will not run.")
    except enforcement.ActionError as exc:
        messages.error(request, str(exc))
        if request.htmx:
            return _queue(request, status=400)
    return _after(request)


@require_POST
def undo(request: ClientRequest, action_id: UUID) -> HttpResponse:
    action = get_action_for_client(request, action_id)
    try:
        result = enforcement.undo(action=action, actor=request.user)
        messages.success(request, f"Undo of {action.tool_name}: {result.get_status_display().lower()}.")
    except enforcement.ActionError as exc:
        messages.error(request, str(exc))
    return redirect("safety:approvals")


@never_cache  # the page holds a secret: no browser or proxy keeps a copy
@require_POST
def reveal_secret(request: ClientRequest, action_id: UUID) -> HttpResponse:
    """Show what an action returned in confidence (a temporary password), once, to the person who approved it."""
    action = get_action_for_client(request, action_id)
    try:
        secrets = reveal(action=action, user=request.user, client=request.tenant)
    except RevealError as exc:
        context = {"action": action, "error": str(exc)}
        return render(request, "safety/secret.html", context, status=exc.status)
    return render(request, "safety/secret.html", {"action": action, "secrets": secrets})
