"""KB candidates (LEARN): proposed entries a person reviews before Gaby ever cites them.

A resolved investigation or an operator's correction proposes a candidate; a reviewer edits,
accepts or rejects it; untouched candidates expire. Accepted candidates live in the client's
"Accepted KB candidates" source, synced like any other, so they are chunked, embedded and
searchable, citing their origin.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit
from uuid import UUID

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from apps.knowledge.models import CandidateOrigin, CandidateStatus, KBCandidate, KnowledgeSource, SourceKind
from apps.knowledge.services import request_sync

CURATED_SOURCE_NAME = "Accepted KB candidates"
MAX_ORIGIN_URL = 1000  # KBCandidate.origin_url


def _clean(title: str, body: str) -> tuple[str, str]:
    title, body = title.strip(), body.strip()
    errors = {}
    if not title:
        errors["title"] = "Give the entry a title."
    elif len(title) > 300:
        errors["title"] = "Keep the title under 300 characters."
    if not body:
        errors["body"] = "Write the entry's text."
    if errors:
        raise ValidationError(errors)
    return title, body


def _web_address(url: str) -> str:
    """An http(s) address or a path on this site (Gaby's own "/investigations/<id>/"), or a clear error: the page
    renders it as a link, so ``javascript:`` would run."""
    url = url.strip()
    if not url:
        return ""
    parts = urlsplit(url)
    on_this_site = url.startswith("/") and not url.startswith("//") and not parts.scheme and not parts.netloc
    if not on_this_site and (parts.scheme.lower() not in {"http", "https"} or not parts.netloc):
        raise ValidationError({"origin_url": "Give an http:// or https:// address (or leave it empty)."})
    if len(url) > MAX_ORIGIN_URL:
        raise ValidationError({"origin_url": f"Keep the address under {MAX_ORIGIN_URL} characters."})
    return url


def propose_candidate(
    *, title: str, body: str, origin_kind: str, origin_ref: str = "", origin_url: str = ""
) -> KBCandidate:
    if origin_kind not in CandidateOrigin.values:
        raise ValidationError({"origin_kind": f"Origin must be one of: {', '.join(CandidateOrigin.values)}."})
    title, body = _clean(title, body)
    return KBCandidate.objects.create(
        title=title,
        body=body,
        origin_kind=origin_kind,
        origin_ref=origin_ref[:300],
        origin_url=_web_address(origin_url),
        expires_at=timezone.now() + timedelta(days=settings.KNOWLEDGE_CANDIDATE_DAYS),
    )


def _open(candidate: KBCandidate) -> KBCandidate:
    locked = KBCandidate.objects.select_for_update().get(pk=candidate.pk)
    if locked.status != CandidateStatus.PROPOSED:
        raise ValidationError(f"This candidate was already {locked.get_status_display().lower()}.")
    if locked.expires_at <= timezone.now():
        raise ValidationError("This candidate has expired; propose it again if it is still useful.")
    return locked


@transaction.atomic
def edit_candidate(*, candidate: KBCandidate, title: str, body: str) -> KBCandidate:
    locked = _open(candidate)
    locked.title, locked.body = _clean(title, body)
    locked.save(update_fields=["title", "body"])
    return locked


def curated_source() -> KnowledgeSource:
    source, _ = KnowledgeSource.objects.get_or_create(
        kind=SourceKind.CURATED, defaults={"name": CURATED_SOURCE_NAME, "config": {}}
    )
    return source


def _decided_by(candidate: KBCandidate, reviewer: Any) -> None:
    """``reviewer``: the signed-in user, or the API key's principal (not a user: its name is what is kept)."""
    candidate.reviewer = reviewer.pk if isinstance(getattr(reviewer, "pk", None), UUID) else None
    candidate.reviewed_by = str(reviewer)[:200]
    candidate.reviewed_at = timezone.now()


def accept_candidate(
    *, candidate: KBCandidate, reviewer: Any, title: str | None = None, body: str | None = None
) -> KBCandidate:
    """Accept (optionally with the reviewer's edits) and queue its indexing."""

    with transaction.atomic():
        locked = _open(candidate)
        if title is not None or body is not None:
            locked.title, locked.body = _clean(title or locked.title, body or locked.body)
        locked.status = CandidateStatus.ACCEPTED
        _decided_by(locked, reviewer)
        locked.save()
        source = curated_source()
    request_sync(source=source)
    return locked


@transaction.atomic
def reject_candidate(*, candidate: KBCandidate, reviewer: Any) -> KBCandidate:
    locked = _open(candidate)
    locked.status = CandidateStatus.REJECTED
    _decided_by(locked, reviewer)
    locked.save(update_fields=["status", "reviewer", "reviewed_by", "reviewed_at"])
    return locked


def expire_candidates() -> int:
    """Proposed candidates past their expiry become expired; returns how many."""
    return KBCandidate.objects.filter(status=CandidateStatus.PROPOSED, expires_at__lte=timezone.now()).update(
        status=CandidateStatus.EXPIRED
    )
