"""Knowledge over the JSON API: search (cited, explained passages), sources, documents, candidates.

Endpoints only parse, call the same services the pages and the agent use, and serialise.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal, cast
from uuid import UUID

from django.http import HttpRequest
from ninja import Field, Query, Router, Schema
from ninja.errors import HttpError

from apps.accounts.access import require_api_role
from apps.accounts.models import Role
from apps.core.edges import EdgeDatetime
from apps.core.http import GabyRequest
from apps.knowledge import candidates as candidate_service
from apps.knowledge import services
from apps.knowledge.accessors import get_candidate_for_client, get_document_for_client, get_source_for_client
from apps.knowledge.models import CandidateOrigin, CandidateStatus, Document, KBCandidate, KnowledgeSource, SourceKind
from apps.knowledge.retrieval import Filters, QueryError, record_citations, search

router = Router(tags=["knowledge"])


def _who(request: HttpRequest) -> Any:
    """Who is calling: the signed-in user, or the API key's principal (ninja's ``request.auth``)."""
    return getattr(request, "auth", None)


def _gaby(request: HttpRequest) -> GabyRequest:
    """Requests reaching these endpoints passed the access middleware and the member session check."""
    return cast(GabyRequest, request)


class CitationOut(Schema):
    document_id: UUID
    document_title: str
    source_name: str
    uri: str
    heading_path: list[str]
    line_start: int
    line_end: int
    source_url: str
    label: str


class ExplanationOut(Schema):
    matched_terms: list[str]
    lexical_rank: int | None
    lexical_score: float | None
    semantic_rank: int | None
    semantic_similarity: float | None
    fused_score: float


class HitOut(Schema):
    chunk_id: UUID
    text: str
    citation: CitationOut
    explanation: ExplanationOut


class SearchOut(Schema):
    query: str
    mode: str
    hits: list[HitOut]
    timings_ms: dict[str, float]


class SearchParams(Schema):
    q: str = Field(..., description="The question or keywords.")
    limit: int = Field(8, ge=1, le=50)
    source: list[UUID] | None = Field(None, description="Only these sources.")
    modified_after: EdgeDatetime | None = Field(None, description="Only documents modified since (with a time zone).")
    tag: list[str] | None = Field(None, description="Only documents with any of these tags (front matter).")
    mode: Literal["hybrid", "lexical", "semantic"] = Field("hybrid", description="Full text, vectors, or both.")


class SourceOut(Schema):
    id: UUID
    kind: str
    name: str
    location: str
    schedule_minutes: int | None
    status: str
    last_sync_at: datetime | None
    last_error: str
    progress_done: int
    progress_total: int
    chunks_embedded: int


class SourceIn(Schema):
    kind: str = Field(..., description="directory, git or url_crawl")
    name: str
    path: str = ""
    url: str = ""
    branch: str = ""
    subdir: str = ""
    max_depth: int | None = None
    max_pages: int | None = None
    schedule_minutes: int | None = None


class DocumentOut(Schema):
    id: UUID
    source_id: UUID
    uri: str
    title: str
    tags: list[str]
    source_url: str
    last_modified: datetime | None
    retrieved_count: int
    cited_count: int
    last_used_at: datetime | None
    error: str


class ChunkOut(Schema):
    ordinal: int
    heading_path: list[str]
    line_start: int
    line_end: int
    token_count: int
    text: str
    embedding_model: str


class DocumentDetailOut(DocumentOut):
    chunks: list[ChunkOut]

    @staticmethod
    def resolve_chunks(obj: Document) -> list[Any]:
        return list(obj.chunks.order_by("ordinal"))


class CandidateOut(Schema):
    id: UUID
    title: str
    body: str
    origin_kind: str
    origin_ref: str
    origin_url: str
    status: str
    expires_at: datetime
    reviewer: UUID | None = Field(description="The member who decided (null when an API key did).")
    reviewed_by: str = Field(description="Who decided, as people read it: a member's name or “API key <name>”.")
    reviewed_at: datetime | None


class CandidateIn(Schema):
    title: str
    body: str
    origin_kind: str = CandidateOrigin.CORRECTION
    origin_ref: str = ""
    origin_url: str = ""


class CandidateEdit(Schema):
    title: str | None = None
    body: str | None = None


class CitationsIn(Schema):
    document_ids: list[UUID]


@router.get("/search", response=SearchOut, summary="Cited passages for a query, each with its explanation")
def search_endpoint(request: HttpRequest, params: Query[SearchParams]) -> Any:
    try:
        return search(
            params.q,
            limit=params.limit,
            filters=Filters(source_ids=params.source, modified_after=params.modified_after, tags=params.tag),
            mode=params.mode,
        )
    except QueryError as exc:
        raise HttpError(400, str(exc)) from exc


@router.post("/citations", summary="Record that an answer cited these documents (usage counters)")
def citations_endpoint(request: HttpRequest, payload: CitationsIn) -> dict[str, int]:
    return {"recorded": record_citations(document_ids=payload.document_ids)}


@router.get("/sources", response=list[SourceOut])
def list_sources(request: HttpRequest) -> Any:
    return list(KnowledgeSource.objects.order_by("name"))


@router.post(
    "/sources",
    response={201: SourceOut},
    summary="Add a source (Admin; a server path needs MSP staff) and queue its sync",
)
def create_source(request: HttpRequest, payload: SourceIn) -> Any:
    require_api_role(request, Role.ADMIN)
    if payload.kind == SourceKind.DIRECTORY:
        config: dict[str, Any] = {"path": payload.path}
    elif payload.kind == SourceKind.URL_CRAWL:
        config = {"url": payload.url, "max_depth": payload.max_depth, "max_pages": payload.max_pages}
    else:
        config = {"url": payload.url, "branch": payload.branch, "subdir": payload.subdir}
    source = services.create_source(
        kind=payload.kind,
        name=payload.name,
        config=config,
        schedule_minutes=payload.schedule_minutes,
        # A path on the Gaby server is for MSP staff; an API key is never staff.
        server_paths=bool(getattr(request.user, "is_msp_staff", False)),
    )
    services.request_sync(source=source)
    source.refresh_from_db()
    return 201, source


@router.get("/sources/{source_id}", response=SourceOut)
def get_source(request: HttpRequest, source_id: UUID) -> Any:
    return get_source_for_client(_gaby(request), source_id)


@router.post("/sources/{source_id}/sync", response={202: SourceOut, 409: dict[str, str]})
def sync_source(request: HttpRequest, source_id: UUID) -> Any:
    source = get_source_for_client(_gaby(request), source_id)
    if not services.request_sync(source=source):
        return 409, {"detail": f"{source.name} is already queued or syncing."}
    return 202, source


@router.get("/documents", response=list[DocumentOut])
def list_documents(
    request: HttpRequest,
    source: UUID | None = None,
    limit: int = Query(100, ge=1, le=500),
    offset: int = Query(0, ge=0, le=1_000_000),
) -> Any:
    queryset = Document.objects.filter(deleted_at__isnull=True).order_by("source__name", "uri")
    if source is not None:
        queryset = queryset.filter(source_id=source)
    return list(queryset[offset : offset + limit])


@router.get("/documents/{document_id}", response=DocumentDetailOut)
def get_document(request: HttpRequest, document_id: UUID) -> Any:
    return get_document_for_client(_gaby(request), document_id)


@router.get("/candidates", response=list[CandidateOut])
def list_candidates(request: HttpRequest, status: str = CandidateStatus.PROPOSED) -> Any:
    if status not in CandidateStatus.values:
        raise HttpError(400, f"status must be one of: {', '.join(CandidateStatus.values)}.")
    return list(KBCandidate.objects.filter(status=status).order_by("-created_at")[:500])


@router.post("/candidates", response={201: CandidateOut}, summary="Propose a KB entry for human review")
def propose(request: HttpRequest, payload: CandidateIn) -> Any:
    return 201, candidate_service.propose_candidate(**payload.dict())


@router.post("/candidates/{candidate_id}/accept", response=CandidateOut)
def accept(request: HttpRequest, candidate_id: UUID, payload: CandidateEdit | None = None) -> Any:
    candidate = get_candidate_for_client(_gaby(request), candidate_id)
    edits = payload or CandidateEdit()
    return candidate_service.accept_candidate(
        candidate=candidate, reviewer=_who(request), title=edits.title, body=edits.body
    )


@router.post("/candidates/{candidate_id}/reject", response=CandidateOut)
def reject(request: HttpRequest, candidate_id: UUID) -> Any:
    candidate = get_candidate_for_client(_gaby(request), candidate_id)
    return candidate_service.reject_candidate(candidate=candidate, reviewer=_who(request))
