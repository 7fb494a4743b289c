"""Knowledge > Embeddings: the client's embedding backend, its vectors per model, and the re-embed progress.

Every member may look; only an Admin changes the backend (the same service as ``gaby kb-embeddings``).
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import ImproperlyConfigured, ValidationError
from django.http import HttpResponse
from django.views.decorators.http import require_POST

from apps.accounts.access import require_role
from apps.accounts.models import Role
from apps.core.http import ClientRequest, partial_or_redirect, render_page
from apps.knowledge import services
from apps.knowledge.accessors import embedding_settings_for_client, open_candidate_count
from apps.knowledge.embeddings import EmbeddingProvider, get_provider
from apps.knowledge.forms import EmbeddingForm
from apps.knowledge.reembed import model_counts, request_reembed


def _render(
    request: ClientRequest, *, form: EmbeddingForm | None = None, partial: str = "", status: int = 200
) -> HttpResponse:
    row = embedding_settings_for_client(request)
    provider: EmbeddingProvider | None
    problem = ""
    try:
        provider = get_provider()
    except ImproperlyConfigured as exc:
        provider, problem = None, str(exc)
    initial: dict[str, Any] = {"backend": row.backend, "provider": row.provider_id, "model": row.model}
    counts = model_counts(provider) if provider else []
    context = {
        "tab": "embeddings",
        "settings_row": row,
        "provider": provider,
        "problem": problem,
        "counts": counts,
        # What stale_chunks() would re-embed, from the same scan (without embeddings nothing is stale).
        "stale": sum(c.chunks for c in counts if not c.current) if provider and provider.enabled else 0,
        "form": form or EmbeddingForm(initial=initial),
        "can_admin": request.membership.allows(Role.ADMIN),
        "open_candidates": open_candidate_count(),
    }
    return render_page(request, "knowledge/embeddings.html", context, partial=partial, status=status)


def embeddings(request: ClientRequest) -> HttpResponse:
    return _render(request)


@require_POST
@require_role(Role.ADMIN)
def choose(request: ClientRequest) -> HttpResponse:
    form = EmbeddingForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        try:
            chosen = services.set_embedding_backend(
                backend=data["backend"], provider=data["provider"], model=data["model"] or ""
            )
        except ValidationError as exc:
            for field, errors in exc.message_dict.items():
                form.add_error(field if field in form.fields else None, errors)
        else:
            note = " Re-embedding is queued." if chosen.reembed_status == "queued" else ""
            messages.success(request, f"Embeddings: {chosen.get_backend_display()}.{note}")
            return partial_or_redirect(request, lambda: _render(request, partial="embeddings"), "knowledge:embeddings")
    return _render(request, form=form, partial="embeddings", status=400)


@require_POST
@require_role(Role.ADMIN)
def reembed(request: ClientRequest) -> HttpResponse:
    embedding_settings_for_client(request)
    if request_reembed():
        messages.success(request, "Re-embedding queued.")
    else:
        messages.error(request, "A re-embed is already queued or running.")
    return partial_or_redirect(request, lambda: _render(request, partial="embeddings"), "knowledge:embeddings")
