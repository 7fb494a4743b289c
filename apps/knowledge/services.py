"""Domain operations on a client's knowledge sources; views, API, CLI and tasks call these.

Every function runs inside the current client's schema (the request's, the task's, the CLI's
``tenant_context``); none of them can reach another client's knowledge.
"""

from __future__ import annotations

import logging
import shutil
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from uuid import UUID

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import OperationalError, transaction
from django.utils import timezone
from django_tenants.utils import schema_context

from apps.core.tasks import enqueue
from apps.knowledge.embeddings import EmbeddingProvider, get_provider
from apps.knowledge.ingestion import ProgressCallback, SyncReport, sync_source
from apps.knowledge.live import broadcast_source
from apps.knowledge.models import EmbeddingBackend, EmbeddingSettings, KnowledgeSource, SourceKind, SyncStatus
from apps.knowledge.readers import ReaderError
from apps.knowledge.readers.git import validate_branch, validate_repository_url
from apps.knowledge.readers.web import validate_start_url
from apps.knowledge.reembed import request_reembed, stale_chunks
from apps.knowledge.tenancy import current_schema
from apps.tickets.models import Status as TicketStatus

log = logging.getLogger(__name__)

CREATABLE_KINDS = (SourceKind.DIRECTORY, SourceKind.GIT, SourceKind.URL_CRAWL)
IDLE_STATES = (SyncStatus.IDLE, SyncStatus.OK, SyncStatus.FAILED)


def _clean_config(kind: str, config: dict[str, Any]) -> dict[str, Any]:
    if kind == SourceKind.DIRECTORY:
        path = str(config.get("path") or "").strip()
        if not path or not Path(path).is_absolute():
            raise ValidationError({"path": "Give the folder's absolute path on the Gaby server, e.g. /srv/runbooks."})
        if not Path(path).is_dir():
            raise ValidationError({"path": f"{path} is not a directory the Gaby server can read."})
        return {"path": str(Path(path))}
    if kind == SourceKind.GIT:
        try:
            url = validate_repository_url(str(config.get("url") or ""))
        except ReaderError as exc:
            raise ValidationError({"url": str(exc)}) from exc
        try:
            branch = validate_branch(str(config.get("branch") or ""))
        except ReaderError as exc:
            raise ValidationError({"branch": str(exc)}) from exc
        cleaned = {"url": url}
        subdir = str(config.get("subdir") or "").strip()
        for key, value in (("branch", branch), ("subdir", subdir)):
            if value:
                cleaned[key] = value
        return cleaned
    if kind == SourceKind.URL_CRAWL:
        try:
            start = validate_start_url(str(config.get("url") or ""))
        except ReaderError as exc:
            raise ValidationError({"url": str(exc)}) from exc
        limits: dict[str, int] = {}
        for key, default, top in (("max_depth", 2, 10), ("max_pages", 100, 5000)):
            raw = config.get(key)
            try:
                number = default if raw in (None, "") else int(raw)
            except (TypeError, ValueError):
                number = -1
            if not 0 <= number <= top or (key == "max_pages" and number == 0):
                raise ValidationError({key: f"Use a whole number from {int(key == 'max_pages')} to {top}."})
            limits[key] = number
        return {"url": start, **limits}
    if kind == SourceKind.PAST_TICKETS:
        statuses = [str(s) for s in config.get("statuses") or ("solved", "closed")]
        unknown = sorted(set(statuses) - set(TicketStatus.values))
        if unknown:
            raise ValidationError({"statuses": f"Unknown status(es) {', '.join(unknown)}; use solved and/or closed."})
        cleaned_tickets: dict[str, Any] = {"statuses": statuses}
        try:
            sources = [str(UUID(str(s))) for s in config.get("sources") or ()]
        except ValueError:
            raise ValidationError({"sources": "Give ticket source ids (UUIDs), or none for every source."}) from None
        if sources:
            cleaned_tickets["sources"] = sources
        return cleaned_tickets
    raise ValidationError(
        {"kind": f"{kind!r} sources cannot be added here; use a directory, git, a site crawl or past tickets."}
    )


def _check_server_paths(kind: str, config: dict[str, Any], *, allowed: bool) -> None:
    """Reading a path on the Gaby server is the install's to grant, as starting a command is for connectors.

    The server holds every client's data (uploads, git checkouts): a client's admin pointing a source at
    a path there could read another client's knowledge. Only MSP staff and the CLI's operator may.
    """
    if allowed:
        return
    if kind == SourceKind.DIRECTORY:
        raise ValidationError(
            {"path": "Only MSP staff can index a folder on the Gaby server: upload the files instead, or ask your MSP."}
        )
    url = str(config.get("url") or "").strip()
    if kind == SourceKind.GIT and (url.startswith("/") or urlsplit(url).scheme == "file"):
        raise ValidationError(
            {"url": "Only MSP staff can index a repository on the Gaby server's disk: give its https:// or ssh:// URL."}
        )


@transaction.atomic
def create_source(
    *,
    kind: str,
    name: str,
    config: dict[str, Any],
    schedule_minutes: int | None = None,
    server_paths: bool = False,
) -> KnowledgeSource:
    """``server_paths``: the caller may read the Gaby server's disk (MSP staff, the CLI's operator)."""
    name = name.strip()
    if not name:
        raise ValidationError({"name": "Give the source a name."})
    if KnowledgeSource.objects.filter(name=name).exists():
        raise ValidationError({"name": f"A source named {name!r} exists already."})
    if schedule_minutes is not None and schedule_minutes < 5:
        raise ValidationError({"schedule_minutes": "Sync at most every 5 minutes (or leave it empty)."})
    _check_server_paths(kind, config, allowed=server_paths)  # first: no probing the server's disk either
    return KnowledgeSource.objects.create(
        kind=kind, name=name, config=_clean_config(kind, config), schedule_minutes=schedule_minutes
    )


@transaction.atomic
def delete_source(*, source: KnowledgeSource) -> None:
    """Delete a source with its documents and chunks, and the files Gaby keeps for it (uploads, git checkout)."""
    if source.status == SyncStatus.RUNNING:
        raise ValidationError("This source is syncing; delete it once the sync has finished.")
    owned: Path | None = None
    if source.kind == SourceKind.UPLOAD:
        owned = Path(source.location)
    elif source.kind == SourceKind.GIT:
        owned = Path(settings.KNOWLEDGE_GIT_DIR) / current_schema() / str(source.pk)
    source.delete()
    if owned is not None:
        folder = owned
        transaction.on_commit(lambda: shutil.rmtree(folder, ignore_errors=True))


def request_sync(*, source: KnowledgeSource) -> bool:
    """Queue a sync on the worker; False if one is already queued or running."""
    with transaction.atomic():
        queued = (
            KnowledgeSource.objects.filter(pk=source.pk, status__in=IDLE_STATES).update(
                status=SyncStatus.QUEUED, last_error=""
            )
            == 1
        )
        if queued:
            schema = current_schema()
            source_id = str(source.pk)

            def send() -> None:
                with schema_context(schema):  # the task runs in this client's schema
                    enqueue("knowledge.sync_source", source_id)

            transaction.on_commit(send)
    source.refresh_from_db()
    broadcast_source(source)
    return queued


def run_queued_sync(*, source_id: UUID | str) -> SyncReport | None:
    """The worker's half: claim a queued source (conditional UPDATE) and sync it; None if not ours to run."""
    claimed = KnowledgeSource.objects.filter(pk=source_id, status=SyncStatus.QUEUED).update(
        status=SyncStatus.RUNNING, progress_done=0, progress_total=0, heartbeat_at=timezone.now()
    )
    if claimed != 1:
        return None
    return _run(KnowledgeSource.objects.get(pk=source_id))


def sync_now(
    *, source: KnowledgeSource, provider: EmbeddingProvider | None = None, on_progress: ProgressCallback | None = None
) -> SyncReport:
    """Sync in this process (the CLI, tests); refuses while another sync holds the source."""
    claimed = KnowledgeSource.objects.filter(pk=source.pk, status__in=(*IDLE_STATES, SyncStatus.QUEUED)).update(
        status=SyncStatus.RUNNING, progress_done=0, progress_total=0, last_error="", heartbeat_at=timezone.now()
    )
    if claimed != 1:
        raise ValidationError(f"{source.name} is being synced already; try again when it has finished.")
    source.refresh_from_db()
    return _run(source, provider=provider, on_progress=on_progress)


def _run(
    source: KnowledgeSource, *, provider: EmbeddingProvider | None = None, on_progress: ProgressCallback | None = None
) -> SyncReport:
    throttle = {"at": 0.0}

    def progress(done: int, total: int) -> None:
        KnowledgeSource.objects.filter(pk=source.pk).update(
            progress_done=done, progress_total=total, heartbeat_at=timezone.now()
        )
        source.progress_done, source.progress_total = done, total
        now = timezone.now().timestamp()
        if done == 0 or done == total or now - throttle["at"] >= 0.5:
            throttle["at"] = now
            broadcast_source(source)
        if on_progress:
            on_progress(done, total)

    broadcast_source(source)
    try:
        report = sync_source(source, provider=provider, on_progress=progress)
    except ReaderError as exc:
        _finish(source, status=SyncStatus.FAILED, error=str(exc))
        raise
    except OperationalError:
        # Transient (database restarting): hand the source back to the queue so the task's retry claims it.
        KnowledgeSource.objects.filter(pk=source.pk).update(status=SyncStatus.QUEUED)
        raise
    except Exception as exc:
        log.exception("knowledge sync failed", extra={"source": str(source.pk)})
        _finish(source, status=SyncStatus.FAILED, error=f"Unexpected error: {exc.__class__.__name__}: {exc}")
        raise
    _finish(source, status=SyncStatus.OK, error="", embedded=report.chunks_embedded)
    return report


def _finish(source: KnowledgeSource, *, status: str, error: str, embedded: int = 0) -> None:
    KnowledgeSource.objects.filter(pk=source.pk).update(
        status=status, last_error=error[:4000], last_sync_at=timezone.now(), chunks_embedded=embedded
    )
    source.refresh_from_db()
    broadcast_source(source)


def directory_source_for(*, path: Path, name: str | None = None) -> KnowledgeSource:
    """The directory source reading ``path``, created on first use (``gaby ingest``)."""
    resolved = path.expanduser().resolve()
    existing = KnowledgeSource.objects.filter(kind=SourceKind.DIRECTORY, config__path=str(resolved)).first()
    if existing is not None:
        return existing
    return create_source(
        kind=SourceKind.DIRECTORY, name=name or str(resolved), config={"path": str(resolved)}, server_paths=True
    )


STALLED_AFTER = timedelta(minutes=30)


def fail_stalled_syncs() -> int:
    """Syncs whose worker died (no progress for 30 minutes) become failed, so they can be started again."""
    return KnowledgeSource.objects.filter(
        status=SyncStatus.RUNNING, heartbeat_at__lt=timezone.now() - STALLED_AFTER
    ).update(status=SyncStatus.FAILED, last_error="The sync stopped making progress (worker restarted?); sync again.")


def due_sources() -> list[KnowledgeSource]:
    """Scheduled sources whose interval has passed since their last sync."""
    now = timezone.now()
    due = []
    for source in KnowledgeSource.objects.filter(schedule_minutes__isnull=False, status__in=IDLE_STATES):
        minutes = source.schedule_minutes or 0
        if source.last_sync_at is None or (now - source.last_sync_at).total_seconds() >= minutes * 60:
            due.append(source)
    return due


@transaction.atomic
def set_embedding_backend(*, backend: str, provider: Any = None, model: str = "") -> EmbeddingSettings:
    """Choose this client's embedding backend; chunks with vectors of another model are queued for re-embedding.

    The settings page and ``gaby kb-embeddings`` both come here.
    """

    if backend not in EmbeddingBackend.values:
        raise ValidationError({"backend": f"Use one of: {', '.join(EmbeddingBackend.values)}."})
    if backend == EmbeddingBackend.LITELLM and (provider is None or not model.strip()):
        raise ValidationError({"model": "LiteLLM embeddings need one of this client's LLM providers and a model name."})
    chosen, _ = EmbeddingSettings.objects.update_or_create(
        singleton=True,
        defaults={
            "backend": backend,
            "provider": provider if backend == EmbeddingBackend.LITELLM else None,
            "model": model.strip() if backend == EmbeddingBackend.LITELLM else "",
        },
    )
    if stale_chunks(get_provider()).exists():
        request_reembed()
        chosen.refresh_from_db()
    return chosen
