"""Knowledge > Candidates: the review queue of proposed KB entries (LEARN)."""

from __future__ import annotations

from uuid import UUID

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.views.decorators.http import require_POST

from apps.accounts.models import Role
from apps.core.http import ClientRequest, partial_or_redirect, render_page
from apps.knowledge import candidates as service
from apps.knowledge.accessors import get_candidate_for_client, open_candidate_count
from apps.knowledge.forms import CandidateForm
from apps.knowledge.models import CandidateOrigin, CandidateStatus, KBCandidate


def _render(
    request: ClientRequest, *, form: CandidateForm | None = None, partial: str = "", status: int = 200
) -> HttpResponse:
    show = request.GET.get("status", CandidateStatus.PROPOSED)
    if show not in CandidateStatus.values:
        show = CandidateStatus.PROPOSED
    context = {
        "tab": "candidates",
        "show": show,
        "statuses": CandidateStatus.choices,
        "candidates": KBCandidate.objects.filter(status=show).order_by(
            "expires_at" if show == "proposed" else "-created_at"
        )[:200],
        "form": form or CandidateForm(),
        "can_write": request.membership.allows(Role.AGENT),
        "open_candidates": open_candidate_count(),
    }
    return render_page(request, "knowledge/candidates.html", context, partial=partial, status=status)


def _done(request: ClientRequest, *, status: int = 200) -> HttpResponse:
    return partial_or_redirect(
        request, lambda: _render(request, partial="queue", status=status), "knowledge:candidates"
    )


def candidates(request: ClientRequest) -> HttpResponse:
    return _render(request)


@require_POST
def new_candidate(request: ClientRequest) -> HttpResponse:
    form = CandidateForm(request.POST)
    if not form.is_valid():
        return _render(request, form=form, partial="new", status=400)
    service.propose_candidate(
        title=form.cleaned_data["title"],
        body=form.cleaned_data["body"],
        origin_kind=CandidateOrigin.MANUAL,
        origin_ref=request.user.email,
    )
    messages.success(request, "Proposed; it waits in the queue for review.")
    return partial_or_redirect(request, lambda: _render(request, partial="queue"), "knowledge:candidates")


@require_POST
def decide(request: ClientRequest, candidate_id: UUID, action: str) -> HttpResponse:
    candidate = get_candidate_for_client(request, candidate_id)
    form = CandidateForm(request.POST)
    try:
        if action == "reject":
            service.reject_candidate(candidate=candidate, reviewer=request.user)
            messages.success(request, f"Rejected {candidate.title!r}.")
        elif not form.is_valid():
            raise ValidationError("Give the entry a title and a text.")
        elif action == "save":
            service.edit_candidate(
                candidate=candidate, title=form.cleaned_data["title"], body=form.cleaned_data["body"]
            )
            messages.success(request, "Saved.")
        else:
            service.accept_candidate(
                candidate=candidate,
                reviewer=request.user,
                title=form.cleaned_data["title"],
                body=form.cleaned_data["body"],
            )
            messages.success(request, f"Accepted {form.cleaned_data['title']!r}; it is being indexed.")
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return _done(request, status=400)
    return _done(request)
