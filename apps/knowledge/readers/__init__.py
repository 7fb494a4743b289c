"""Source readers: each kind of knowledge source lists its documents as ``Entry`` objects.

A reader only discovers and reads; hashing, chunking, embedding and storing are the ingestion
pipeline's job (apps/knowledge/ingestion.py), shared by every kind.
"""

from __future__ import annotations

from apps.knowledge.models import KnowledgeSource, SourceKind
from apps.knowledge.readers.base import Entry, Reader, ReaderError
from apps.knowledge.readers.curated import CuratedReader
from apps.knowledge.readers.directory import DirectoryReader
from apps.knowledge.readers.git import GitReader
from apps.knowledge.readers.tickets import TicketsReader
from apps.knowledge.readers.web import CrawlReader


def reader_for(source: KnowledgeSource) -> Reader:
    if source.kind in (SourceKind.DIRECTORY, SourceKind.UPLOAD):
        return DirectoryReader.from_config(source.config)
    if source.kind == SourceKind.GIT:
        return GitReader.from_source(source)
    if source.kind == SourceKind.URL_CRAWL:
        return CrawlReader.from_config(source.config)
    if source.kind == SourceKind.PAST_TICKETS:
        return TicketsReader.from_config(source.config)
    if source.kind == SourceKind.CURATED:
        return CuratedReader()
    raise ReaderError(f"{source.get_kind_display()} sources cannot be synced yet.")


__all__ = ["Entry", "Reader", "ReaderError", "reader_for"]
