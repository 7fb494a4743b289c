"""A client's knowledge base, stored in that client's own schema (KB-1..KB-6, MSP-6).

Isolation is structural: these tables exist once per client schema, so a query run inside one
client's schema cannot see another client's sources, documents or chunks.
"""

from __future__ import annotations

from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.indexes import GinIndex
from django.contrib.postgres.search import SearchVectorField
from django.db import models
from pgvector.django import HnswIndex, VectorField

from apps.core.ids import uuid7
from apps.core.singleton import Singleton

EMBEDDING_DIMENSIONS = 384  # MiniLM-L6; other providers are asked for (or must produce) this size


class SourceKind(models.TextChoices):
    DIRECTORY = "directory", "Local directory"
    GIT = "git", "Git repository"
    URL_CRAWL = "url_crawl", "Website crawl"
    UPLOAD = "upload", "Uploaded files"
    PAST_TICKETS = "past_tickets", "Past resolved tickets"
    CURATED = "curated", "Accepted KB candidates"


class SyncStatus(models.TextChoices):
    IDLE = "idle", "Never synced"
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Syncing"
    OK = "ok", "Up to date"
    FAILED = "failed", "Failed"


class KnowledgeSource(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    kind = models.CharField(max_length=16, choices=SourceKind.choices)
    name = models.CharField(max_length=200, unique=True)
    # Where to read from (path, repository URL, branch, ...). Credentials never go here in clear:
    # they are sealed with apps.core.secrets under the purpose "knowledge-source:<id>".
    config = models.JSONField(default=dict, blank=True)
    schedule_minutes = models.PositiveIntegerField(
        null=True, blank=True, help_text="Re-sync every N minutes; empty: only on demand."
    )
    status = models.CharField(max_length=16, choices=SyncStatus.choices, default=SyncStatus.IDLE)
    last_sync_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    # Progress of the current (or last) sync, shown live on the sources page.
    progress_total = models.PositiveIntegerField(default=0)
    progress_done = models.PositiveIntegerField(default=0)
    chunks_embedded = models.PositiveIntegerField(default=0, help_text="Chunks embedded by the last sync.")
    # Touched by a running sync at every step, so a sync whose worker died can be told apart from a slow one.
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def location(self) -> str:
        """Where the source reads from, for people (never a credential)."""
        return str(self.config.get("path") or self.config.get("url") or "")


class Document(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    source = models.ForeignKey(KnowledgeSource, on_delete=models.CASCADE, related_name="documents")
    uri = models.CharField(max_length=1000, help_text="Path or address inside the source; unique per source.")
    title = models.CharField(max_length=500)
    # From the file's front matter (``tags: [vpn, remote]``); search() can keep only documents with any of them.
    tags = ArrayField(models.CharField(max_length=100), default=list, blank=True)
    source_url = models.URLField(max_length=1000, blank=True, help_text="Where a reader can open the original.")
    content_hash = models.CharField(max_length=64)
    last_modified = models.DateTimeField(null=True, blank=True)
    retrieved_count = models.PositiveIntegerField(default=0)
    cited_count = models.PositiveIntegerField(default=0)
    last_used_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    indexed_at = models.DateTimeField(null=True, blank=True)
    # A file that could not be read is kept with its error (quarantined), never silently dropped.
    error = models.TextField(blank=True)
    deleted_at = models.DateTimeField(null=True, blank=True)  # soft delete: gone from the source
    # The mean of its chunks' vectors, kept by ingestion (empty without any): with its HNSW index, the
    # near-duplicate check asks each document for its nearest neighbours instead of comparing every pair.
    embedding = VectorField(dimensions=EMBEDDING_DIMENSIONS, null=True, blank=True)

    class Meta:
        ordering = ["source", "uri"]
        constraints = [models.UniqueConstraint(fields=["source", "uri"], name="knowledge_document_unique_uri")]
        indexes = [
            HnswIndex(
                name="knowledge_document_embedding",
                fields=["embedding"],
                m=16,
                ef_construction=64,
                opclasses=["vector_cosine_ops"],
            ),
        ]

    def __str__(self) -> str:
        return self.title


class Chunk(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    document = models.ForeignKey(Document, on_delete=models.CASCADE, related_name="chunks")
    # Denormalised from the document so retrieval filters by source without a join.
    source = models.ForeignKey(KnowledgeSource, on_delete=models.CASCADE, related_name="+")
    ordinal = models.PositiveIntegerField()
    heading_path = ArrayField(models.CharField(max_length=300), default=list, blank=True)
    line_start = models.PositiveIntegerField()
    line_end = models.PositiveIntegerField()
    text = models.TextField()
    content_hash = models.CharField(max_length=64)
    token_count = models.PositiveIntegerField()
    embedding = VectorField(dimensions=EMBEDDING_DIMENSIONS, null=True, blank=True)
    embedding_model = models.CharField(max_length=200, blank=True)
    search = SearchVectorField(null=True)

    class Meta:
        ordering = ["document", "ordinal"]
        indexes = [
            GinIndex(fields=["search"], name="knowledge_chunk_search"),
            HnswIndex(
                name="knowledge_chunk_embedding",
                fields=["embedding"],
                m=16,
                ef_construction=64,
                opclasses=["vector_cosine_ops"],
            ),
            models.Index(fields=["content_hash"], name="knowledge_chunk_hash"),
        ]

    def __str__(self) -> str:
        return f"{self.document_id}#{self.ordinal}"


class EmbeddingCacheEntry(models.Model):
    """One vector per (model, text hash): identical chunk text is embedded once per client."""

    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    model = models.CharField(max_length=200)
    content_hash = models.CharField(max_length=64)
    embedding = VectorField(dimensions=EMBEDDING_DIMENSIONS)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["model", "content_hash"], name="knowledge_embedding_cache_key")]

    def __str__(self) -> str:
        return f"{self.model}:{self.content_hash[:12]}"


class CandidateStatus(models.TextChoices):
    PROPOSED = "proposed", "Proposed"
    ACCEPTED = "accepted", "Accepted"
    REJECTED = "rejected", "Rejected"
    EXPIRED = "expired", "Expired"


class CandidateOrigin(models.TextChoices):
    INVESTIGATION = "investigation", "Resolved investigation"
    CORRECTION = "correction", "Operator correction"
    MANUAL = "manual", "Written by an operator"


class KBCandidate(models.Model):
    """A proposed knowledge-base entry (LEARN): reviewed by a person before it is ever cited."""

    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    title = models.CharField(max_length=300)
    body = models.TextField()
    origin_kind = models.CharField(max_length=16, choices=CandidateOrigin.choices)
    origin_ref = models.CharField(max_length=300, blank=True, help_text="Id of the investigation or ticket.")
    origin_url = models.URLField(max_length=1000, blank=True)
    status = models.CharField(max_length=16, choices=CandidateStatus.choices, default=CandidateStatus.PROPOSED)
    expires_at = models.DateTimeField()
    reviewer = models.UUIDField(null=True, blank=True, help_text="The accounts.User who decided.")
    reviewed_by = models.CharField(
        max_length=200, blank=True, help_text="Who decided, as people read it: a member's name or an API key's."
    )
    reviewed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["status", "expires_at"], name="knowledge_candidate_queue")]

    def __str__(self) -> str:
        return self.title


class EmbeddingBackend(models.TextChoices):
    DEFAULT = "default", "The install's default (GABY_KB_EMBEDDINGS)"
    LITELLM = "litellm", "A model through LiteLLM (one of this client's LLM providers)"
    NONE = "none", "None: full-text search only"


class EmbeddingSettings(Singleton):
    """This client's embedding backend; no row means the install's default. One row per client schema."""

    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    backend = models.CharField(max_length=16, choices=EmbeddingBackend.choices, default=EmbeddingBackend.DEFAULT)
    provider = models.ForeignKey("llm.LLMProvider", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    model = models.CharField(max_length=200, blank=True, help_text="e.g. text-embedding-3-small, nomic-embed-text.")
    updated_at = models.DateTimeField(auto_now=True)
    # The re-embedding a change of backend queues (apps/knowledge/reembed.py), shown live on the settings page.
    reembed_status = models.CharField(max_length=16, choices=SyncStatus.choices, default=SyncStatus.IDLE)
    reembed_done = models.PositiveIntegerField(default=0)
    reembed_total = models.PositiveIntegerField(default=0)
    reembed_error = models.TextField(blank=True)
    reembed_heartbeat_at = models.DateTimeField(null=True, blank=True)
    reembed_finished_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.get_backend_display()} {self.model}".strip()
