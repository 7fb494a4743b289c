"""Files uploaded in the UI (KB-1): kept under the media directory, indexed as the "Uploaded files" source.

An upload with the name of an earlier file replaces it; the next sync re-indexes only what changed.
"""

from __future__ import annotations

from pathlib import Path, PurePath

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.utils.text import get_valid_filename

from apps.knowledge.extract import SUPPORTED_SUFFIXES
from apps.knowledge.models import KnowledgeSource, SourceKind
from apps.knowledge.tenancy import current_schema

UPLOADS_SOURCE_NAME = "Uploaded files"
MAX_FILES = 50


def upload_dir() -> Path:
    return Path(settings.MEDIA_ROOT) / "knowledge" / current_schema() / "uploads"


def uploads_source() -> KnowledgeSource:
    source, _ = KnowledgeSource.objects.get_or_create(
        kind=SourceKind.UPLOAD, defaults={"name": UPLOADS_SOURCE_NAME, "config": {"path": str(upload_dir())}}
    )
    return source


def store_uploads(*, files: list[UploadedFile]) -> tuple[KnowledgeSource, list[str]]:
    """Check every file first (type, size, count), then store them all; returns the source and stored names."""
    if not files:
        raise ValidationError("Choose at least one file.")
    if len(files) > MAX_FILES:
        raise ValidationError(f"Upload at most {MAX_FILES} files at once.")
    limit = settings.KNOWLEDGE_MAX_FILE_BYTES
    names = []
    for upload in files:
        name = get_valid_filename(PurePath(upload.name or "").name)
        if PurePath(name).suffix.lower() not in SUPPORTED_SUFFIXES:
            raise ValidationError(f"{upload.name}: upload Markdown, text, HTML or PDF files.")
        if (upload.size or 0) > limit:
            raise ValidationError(f"{upload.name} is larger than {limit // (1024 * 1024)} MB.")
        names.append(name)
    folder = upload_dir()
    folder.mkdir(parents=True, exist_ok=True)
    for upload, name in zip(files, names, strict=True):
        with open(folder / name, "wb") as out:
            for piece in upload.chunks():
                out.write(piece)
    return uploads_source(), names
