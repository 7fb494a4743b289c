"""The setup page and the checklist's two buttons (Admins): keep a default as the answer, hide from the inbox."""

from __future__ import annotations

from typing import Any

from django.http import Http404, HttpResponse
from django.views.decorators.http import require_POST

from apps.accounts.access import require_role
from apps.accounts.models import Role
from apps.core.http import ClientRequest, partial_or_redirect, render_page, render_part
from apps.onboarding import checklist

PART = "onboarding/_checklist.html"


def checklist_context(request: Any, *, inline: bool = False) -> dict[str, Any]:
    steps = checklist.steps(request.tenant)
    membership = getattr(request, "membership", None)
    return {
        "client": request.tenant,
        "steps": steps,
        "done": sum(step.done for step in steps),
        "can_manage": membership is not None and membership.allows(Role.ADMIN),
        "inline": inline,
    }


def setup(request: ClientRequest) -> HttpResponse:
    return render_page(request, "onboarding/setup.html", checklist_context(request))


@require_POST
@require_role(Role.ADMIN)
def confirm(request: ClientRequest, key: str) -> HttpResponse:
    try:
        checklist.confirm(key=key, actor=request.user)
    except ValueError as exc:
        raise Http404(str(exc)) from None
    return partial_or_redirect(
        request, lambda: render_part(request, PART, checklist_context(request)), "onboarding:setup"
    )


@require_POST
@require_role(Role.ADMIN)
def hide(request: ClientRequest) -> HttpResponse:
    checklist.hide(actor=request.user)
    return partial_or_redirect(request, lambda: HttpResponse(""), "tickets:inbox")
