"""Storing a message's attachments: one mechanism for email (content in hand) and help desks (downloaded).

A help-desk attachment is downloaded only when its message is stored (``NormalizedAttachment.fetch``),
within the size limit (``TICKETS_ATTACHMENT_MAX_BYTES``). A download that fails keeps the message and
stores the attachment's name with the error, never the message's loss; the next pull of the same
ticket tries that file again and fills it in. The vendor's attachment id makes a re-pull idempotent.
A name too long for a file system is cut on disk (extension kept); the sender's name is what people see.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Mapping
from pathlib import PurePosixPath
from typing import Any

from django.conf import settings
from django.core.files.base import ContentFile

from apps.tickets.models import Attachment, Message
from apps.tickets.normalized import NormalizedAttachment, NormalizedMessage

MAX_DISPLAY_NAME = 300  # Attachment.filename's length
MAX_STORED_NAME_BYTES = 200


def _download(item: NormalizedAttachment) -> tuple[bytes, str, str]:
    """(content, content type, error) of one attachment; the error is empty when the file is in hand."""
    if item.fetch is None:
        return item.content, item.content_type, ""
    limit = int(settings.TICKETS_ATTACHMENT_MAX_BYTES)
    if item.size is not None and item.size > limit:
        return b"", item.content_type, f"Not downloaded: {item.size} bytes is over the {limit}-byte limit."
    try:
        content, served_type = item.fetch()
    except Exception as exc:  # whatever the vendor did, the message is kept and the reason shown
        return b"", item.content_type, f"Could not download: {exc}"[:2000]
    return content, item.content_type or served_type, ""


def _shorten(name: str, limit: int, size: Callable[[str], int]) -> str:
    """``name`` within ``limit`` as measured by ``size``, its extension kept (when it is a short one)."""
    if size(name) <= limit:
        return name
    stem, dot, extension = name.rpartition(".")
    if not dot or not stem or size(extension) > 16:
        stem, dot, extension = name, "", ""
    room = limit - size(dot + extension)
    while stem and size(stem) > room:
        stem = stem[: len(stem) * room // size(stem)]  # in proportion: one cut for ASCII, a few for wide text
    return stem.rstrip(" .") + dot + extension


def display_name(filename: str) -> str:
    """The sender's name for the file, without folders or control characters, within the column."""
    name = PurePosixPath(filename.replace("\\", "/")).name
    name = "".join(ch for ch in name if ch.isprintable()).strip()
    return _shorten(name, MAX_DISPLAY_NAME, len) or "attachment"


def storage_name(filename: str) -> str:
    """The name the file gets on disk: file systems take 255 bytes per name (Django may add 8 to make it
    unique), so a longer one is cut, keeping its extension; the full name stays in ``Attachment.filename``."""
    return _shorten(filename, MAX_STORED_NAME_BYTES, lambda text: len(text.encode("utf-8")))


def store(message: Message, item: NormalizedAttachment, *, replacing: Attachment | None = None) -> Attachment:
    content, content_type, error = _download(item)
    attachment = replacing or Attachment(message=message, external_id=item.external_id[:200])
    attachment.filename = display_name(item.filename)
    attachment.content_type = (content_type or "application/octet-stream")[:200]
    attachment.error = error
    attachment.size = len(content) if not error else (item.size or 0)
    attachment.sha256 = hashlib.sha256(content).hexdigest() if not error else ""
    if not error:
        attachment.file.save(storage_name(attachment.filename), ContentFile(content), save=False)
    attachment.save()
    return attachment


def store_all(message: Message, items: Iterable[NormalizedAttachment]) -> None:
    for item in items:
        store(message, item)


def retry_failed(message_ids: Mapping[str, Any], normalized: Mapping[str, NormalizedMessage]) -> int:
    """On a re-pull: download again the attachments of known messages that failed before. One query
    when none failed. ``message_ids`` maps a message key to its stored message id."""
    failed = list(
        Attachment.objects.filter(message_id__in=list(message_ids.values()))
        .exclude(error="")
        .exclude(external_id="")
        .select_related("message")
    )
    if not failed:
        return 0
    by_message_key = {str(v): k for k, v in message_ids.items()}
    filled = 0
    for attachment in failed:
        key = by_message_key.get(str(attachment.message_id))
        source_message = normalized.get(key or "")
        item = next(
            (
                a
                for a in (source_message.attachments if source_message else ())
                if a.external_id == attachment.external_id
            ),
            None,
        )
        if item is not None and not store(attachment.message, item, replacing=attachment).error:
            filled += 1
    return filled
