"""What the help-desk adapters (Zendesk, Freshdesk, Zoho Desk, GitHub, Linear) share.

Each vendor package talks to its API through one ``SourceHttp`` (the seam tests point at a local
server replaying recorded exchanges), built lazily from the sealed configuration. Everything a vendor
sends is parsed defensively: an item that cannot be read becomes a ``Rejected`` (quarantined with its
error) instead of failing the whole page.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, ClassVar
from urllib.parse import urlsplit

from django.utils.html import escape, linebreaks

from apps.core.edges import EdgeError
from apps.core.edges import load_json as edge_json
from apps.tickets.normalized import NormalizedAttachment
from apps.tickets.sources.base import PayloadError, Rejected, SignatureError, SourceAdapter, SourceError
from apps.tickets.sources.http import SourceHttp


class IgnoredDelivery(Exception):
    """A genuine, correctly signed webhook delivery with nothing to ingest (a ping, a pull request)."""


class HttpAdapter(SourceAdapter):
    """An adapter whose vendor is reached over HTTP through one ``SourceHttp``."""

    required_config: ClassVar[tuple[str, ...]] = ()

    def __init__(self, *, source_id: str, config: Mapping[str, Any]) -> None:
        super().__init__(source_id=source_id, config=config)
        self._http: SourceHttp | None = None
        self._writer: SourceHttp | None = None

    def setting(self, key: str) -> str:
        value = str(self.config.get(key, "") or "").strip()
        if not value:
            raise SourceError(f"This {self.label} source has no '{key}' in its configuration; edit the source.")
        return value

    def id_setting(self, key: str, what: str) -> int:
        """A setting that is a vendor's record id (a PSA company's): a whole number, or a message saying so."""
        value = self.setting(key)
        if not value.isdigit():
            raise SourceError(f"{key} {value!r} is not {what} (a number); edit the source.")
        return int(value)

    def build_http(self) -> SourceHttp:
        raise NotImplementedError

    def build_writer(self) -> SourceHttp:
        """The seam ``writer`` uses: the vendor's ``SourceHttp`` with ``max_attempts=1``."""
        raise NotImplementedError

    @property
    def writer(self) -> SourceHttp:
        """The seam for writes to a vendor that takes no idempotency key (the PSAs): each is attempted once per call,
        because a retry after a lost answer must look for what the lost attempt wrote before writing again."""
        if self._writer is None:
            self._writer = self.build_writer()
        return self._writer

    @property
    def http(self) -> SourceHttp:
        if self._http is None:
            self._http = self.build_http()
        return self._http

    def remote_attachment(
        self, *, external_id: Any, name: Any, content_type: Any, size: Any, url: Any
    ) -> NormalizedAttachment:
        """A vendor's file, downloaded only when its message is stored. Credentials go only to the vendor's own
        host: Zendesk and Freshdesk may serve files from elsewhere (a CDN, signed S3 URLs)."""
        from django.conf import settings

        link = str(url or "")
        if not link:
            raise ValueError(f"attachment {external_id} has no download URL")
        own_host = urlsplit(link).netloc in ("", urlsplit(str(self.http.client.base_url)).netloc)

        def fetch() -> tuple[bytes, str]:
            return self.http.download(link, max_bytes=int(settings.TICKETS_ATTACHMENT_MAX_BYTES), send_auth=own_host)

        declared = int(size) if isinstance(size, int) or (isinstance(size, str) and size.isdigit()) else None
        return NormalizedAttachment(
            filename=str(name or "attachment"),
            content_type=str(content_type or ""),
            external_id=str(external_id),
            size=declared,
            fetch=fetch,
        )

    def remote_attachments(self, items: Any, *, url_key: str, name_key: str) -> tuple[NormalizedAttachment, ...]:
        """The attachments list of a comment or conversation (Zendesk, Freshdesk); deleted files are skipped."""
        if not isinstance(items, list):
            return ()
        return tuple(
            self.remote_attachment(
                external_id=item["id"],
                name=item.get(name_key),
                content_type=item.get("content_type"),
                size=item.get("size"),
                url=item.get(url_key),
            )
            for item in items
            if isinstance(item, dict) and "id" in item and not item.get("deleted")
        )


def rejected(item: Any, error: str) -> Rejected:
    return Rejected(raw=json.dumps(item, default=str, indent=2).encode(), error=error, content_type="application/json")


def parse_time(value: Any) -> datetime | None:
    """ISO 8601 as the vendors write it (``Z`` or an offset; Zoho adds milliseconds); None if absent."""
    if value in (None, ""):
        return None
    if not isinstance(value, str):
        raise ValueError(f"not a timestamp: {value!r}")
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def iso_z(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def later(current: str, candidate: datetime | None) -> str:
    """The later of a stored ISO timestamp and a candidate, as ISO: the high-water mark of a pull."""
    if candidate is None:
        return current
    if not current or candidate > (parse_time(current) or candidate):
        return iso_z(candidate)
    return current


def load_json(body: bytes) -> Any:
    try:
        return edge_json(body, nul="strip")  # a vendor's NUL cannot be corrected by anyone: dropped
    except EdgeError as exc:
        raise PayloadError(str(exc), field="(body)") from exc


def hmac_sha256(secret: str, message: bytes) -> bytes:
    return hmac.new(secret.encode(), message, hashlib.sha256).digest()


def check_secret(secret: str, label: str) -> str:
    if not secret:
        raise SignatureError(f"This {label} source has no webhook secret configured; set one before sending events.")
    return secret


def constant_equal(given: str, expected: str) -> bool:
    return hmac.compare_digest(given.strip().encode(), expected.encode())


def text_to_html(text: str) -> str:
    return str(linebreaks(escape(text)))


def json_and_next(http: SourceHttp, url: str, **kwargs: Any) -> tuple[Any, str | None]:
    """GET a JSON list page and the URL of the next one from its ``Link: <...>; rel="next"`` header."""
    response = http.request("GET", url, **kwargs)
    try:
        data = response.json()
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise SourceError(f"GET {url} answered with a body that is not JSON: {response.text[:200]!r}") from exc
    return data, response.links.get("next", {}).get("url")


def uuid7_time(value: str) -> datetime | None:
    """When Gaby created a message: its id is a UUIDv7, whose first 48 bits are Unix milliseconds. Sinks without
    an idempotency key (HaloPSA, ConnectWise) look for what a lost attempt wrote since then before writing again."""
    try:
        parsed = uuid.UUID(value)
    except ValueError:
        return None
    if parsed.version != 7:
        return None
    return datetime.fromtimestamp((parsed.int >> 80) / 1000, tz=UTC)
