"""Scoped accessors: a knowledge object of the current client, or 404.

The request already runs inside the client's schema, so another client's ids simply do not
exist here; these helpers are still the one way views and endpoints load objects by id.
"""

from __future__ import annotations

from uuid import UUID

from django.db.models import Count, Q, QuerySet
from django.http import Http404
from django.shortcuts import get_object_or_404

from apps.core.http import GabyRequest
from apps.knowledge.models import CandidateStatus, Document, EmbeddingSettings, KBCandidate, KnowledgeSource


def _require_client(request: GabyRequest) -> None:
    if request.tenant.is_public:
        raise Http404("Knowledge lives on a client's domain.")


def sources_for_client(request: GabyRequest) -> QuerySet[KnowledgeSource]:
    _require_client(request)
    return KnowledgeSource.objects.annotate(
        document_count=Count("documents", filter=Q(documents__deleted_at__isnull=True))
    ).order_by("name")


def get_source_for_client(request: GabyRequest, source_id: UUID) -> KnowledgeSource:
    _require_client(request)
    return get_object_or_404(KnowledgeSource, pk=source_id)


def get_document_for_client(request: GabyRequest, document_id: UUID) -> Document:
    _require_client(request)
    return get_object_or_404(Document.objects.select_related("source"), pk=document_id)


def get_candidate_for_client(request: GabyRequest, candidate_id: UUID) -> KBCandidate:
    _require_client(request)
    return get_object_or_404(KBCandidate, pk=candidate_id)


def open_candidate_count() -> int:
    return KBCandidate.objects.filter(status=CandidateStatus.PROPOSED).count()


def embedding_settings_for_client(request: GabyRequest) -> EmbeddingSettings:
    """This client's embedding settings (the install's default until an Admin chooses; not saved by reading)."""
    _require_client(request)
    return EmbeddingSettings.objects.select_related("provider").filter(singleton=True).first() or EmbeddingSettings()
