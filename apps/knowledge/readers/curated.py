"""Accepted KB candidates, indexed like any document and citing where they came from (LEARN)."""

from __future__ import annotations

from collections.abc import Iterator

from apps.knowledge.models import CandidateStatus, KBCandidate
from apps.knowledge.readers.base import Entry


def candidate_markdown(candidate: KBCandidate) -> bytes:
    origin = candidate.get_origin_kind_display()
    if candidate.origin_ref:
        origin += f" {candidate.origin_ref}"
    return f"# {candidate.title}\n\n{candidate.body.strip()}\n\n_Origin: {origin}._\n".encode()


class CuratedReader:
    def entries(self) -> Iterator[Entry]:
        for candidate in KBCandidate.objects.filter(status=CandidateStatus.ACCEPTED).order_by("reviewed_at", "id"):
            data = candidate_markdown(candidate)
            yield Entry(
                uri=f"candidate/{candidate.pk}",
                name=f"{candidate.pk}.md",
                read=lambda data=data: data,  # type: ignore[misc]
                source_url=candidate.origin_url,
                last_modified=candidate.reviewed_at,
                title=candidate.title,
            )
