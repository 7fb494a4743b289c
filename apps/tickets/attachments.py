"""Storing a message's attachments: one mechanism for email (content in hand) and help desks (downloaded).

A help-desk attachment is downloaded only when its message is stored (``NormalizedAttachment.fetch``),
within the size limit (``TICKETS_ATTACHMENT_MAX_BYTES``). A download that fails keeps the message and
stores the attachment's name with the error, never the message's loss; the next pull of the same
ticket tries that file again and fills it in. The vendor's attachment id makes a re-pull idempotent.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from pathlib import PurePosixPath
from typing import Any

from django.conf import settings
from django.core.files.base import ContentFile

from apps.tickets.models import Attachment, Message
from apps.tickets.normalized import NormalizedAttachment, NormalizedMessage


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


def store(message: Message, item: NormalizedAttachment, *, replacing: Attachment | None = None) -> Attachment:
    content, content_type, error = _download(item)
    attachment = replacing or Attachment(message=message, external_id=item.external_id[:200])
    attachment.filename = PurePosixPath(item.filename.replace("\\", "/")).name[:300] or "attachment"
    attachment.content_type = (content_type or "application/octet-stream")[:200]
    attachment.error = error
    attachment.size = len(content) if not error else (item.size or 0)
    attachment.sha256 = hashlib.sha256(content).hexdigest() if not error else ""
    if not error:
        attachment.file.save(attachment.filename, ContentFile(content), save=False)
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
