"""A website crawl (KB-1): same site only, depth and page limits, robots.txt respected.

``WebClient`` is this integration's one outbound HTTP seam (httpx through the outbound-URL policy,
apps/core/outbound_http.py): every page, robots.txt and each redirect hop is checked and connected to at the
address checked, so a crawl never reaches loopback, metadata or private addresses. Tests point it at a real
local HTTP server. It retries 429 (honouring Retry-After, capped) and 5xx with backoff (the shared mechanism,
apps/core/retry.py); a page that still fails,
or is refused by the policy, is yielded with its error, so the sync keeps it visible instead of dropping it.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from email.utils import parsedate_to_datetime
from html.parser import HTMLParser
from pathlib import PurePosixPath
from typing import Any
from urllib.parse import urldefrag, urljoin, urlsplit
from urllib.robotparser import RobotFileParser

import httpx

from apps.core import outbound_http
from apps.core.outbound import OutboundRefused, check_url
from apps.core.retry import Policy, send_with_retries
from apps.knowledge.extract import format_for
from apps.knowledge.readers.base import Entry, ReaderError

USER_AGENT = "GabyBot/1.0 (knowledge crawl; +https://github.com/gaby)"
MAX_BYTES = 20 * 1024 * 1024
MAX_RETRY_AFTER = 30.0


class FetchError(OSError):
    """A page could not be fetched; its message says why (kept on the document)."""


@dataclass(frozen=True)
class Page:
    url: str  # after redirects
    status: int
    content_type: str
    body: bytes
    last_modified: datetime | None


class WebClient:
    """GETs with retries on 429/5xx; the only place the crawler talks HTTP."""

    def __init__(self, *, timeout: float = 20.0, retries: int = 2, backoff: float = 0.5) -> None:
        self.http = outbound_http.client(timeout=timeout, follow_redirects=True, headers={"User-Agent": USER_AGENT})
        self.timeout = timeout
        self.policy = Policy(
            attempts=retries + 1,
            backoff=backoff,
            max_wait=MAX_RETRY_AFTER,
            statuses=frozenset({429, *range(500, 600)}),
            errors=(httpx.HTTPError,),
            hand_back=False,
        )

    def close(self) -> None:
        self.http.close()

    def get(self, url: str) -> Page:
        request = self.http.build_request("GET", url)
        try:
            response, attempts = send_with_retries(lambda: self.http.send(request, stream=True), self.policy)
        except OutboundRefused as exc:
            hop = "" if exc.url == url else f"{url} redirects to a refused address: "
            raise FetchError(f"{hop}{exc}") from None  # kept on the document
        except httpx.HTTPError as exc:
            raise FetchError(f"{url}: {exc.__class__.__name__}") from exc
        try:
            if response.status_code in self.policy.statuses:
                raise FetchError(f"{url} answered {response.status_code} after {attempts} tries.")
            try:
                body = _capped_body(url, response)
            except httpx.HTTPError as exc:  # the body broke off: not retried, the next sync tries again
                raise FetchError(f"{url}: {exc.__class__.__name__}") from exc
            return Page(
                url=str(response.url),
                status=response.status_code,
                content_type=response.headers.get("Content-Type", ""),
                body=body,
                last_modified=_http_date(response.headers.get("Last-Modified")),
            )
        finally:
            response.close()


def _capped_body(url: str, response: httpx.Response) -> bytes:
    body = bytearray()
    for piece in response.iter_bytes():
        body += piece
        if len(body) > MAX_BYTES:
            raise FetchError(f"{url} is larger than {MAX_BYTES // (1024 * 1024)} MB.")
    return bytes(body)


def _http_date(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        return parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.links: list[str] = []
        self.nofollow = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "meta" and (values.get("name") or "").lower() == "robots":
            self.nofollow = "nofollow" in (values.get("content") or "").lower()
        if tag == "a" and values.get("href") and "nofollow" not in (values.get("rel") or ""):
            self.links.append(str(values["href"]))


def validate_start_url(url: str) -> str:
    url = url.strip()
    parts = urlsplit(url)
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise ReaderError("Give the site's address, starting with https:// (or http://).")
    if parts.username or parts.password:
        raise ReaderError("Leave credentials out of the URL.")
    try:
        check_url(url)  # a name that does not resolve now is kept: every fetch checks again
    except OutboundRefused as exc:
        raise ReaderError(str(exc)) from None
    return urldefrag(url)[0]


class CrawlReader:
    def __init__(
        self, start_url: str, *, max_depth: int = 2, max_pages: int = 100, client: WebClient | None = None
    ) -> None:
        self.start_url = validate_start_url(start_url)
        self.max_depth = max(0, max_depth)
        self.max_pages = max(1, max_pages)
        self.client = client or WebClient()
        parts = urlsplit(self.start_url)
        self.origin = (parts.scheme, parts.netloc.lower())

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> CrawlReader:
        depth, pages = config.get("max_depth"), config.get("max_pages")
        return cls(
            str(config.get("url") or ""),
            max_depth=2 if depth in (None, "") else int(depth),
            max_pages=100 if pages in (None, "") else int(pages),
        )

    def _same_site(self, url: str) -> bool:
        parts = urlsplit(url)
        return (parts.scheme, parts.netloc.lower()) == self.origin

    def _robots(self) -> RobotFileParser:
        robots = RobotFileParser()
        robots_url = urljoin(self.start_url, "/robots.txt")
        try:
            page = self.client.get(robots_url)
        except FetchError:
            robots.parse([])  # unreachable robots.txt: nothing is disallowed (as crawlers conventionally do)
            return robots
        if page.status in (401, 403):
            robots.parse(["User-agent: *", "Disallow: /"])  # a guarded robots.txt: stay out
        elif page.status >= 400:
            robots.parse([])  # no robots.txt: everything is allowed
        else:
            robots.parse(page.body.decode("utf-8", "replace").splitlines())
        return robots

    def entries(self) -> Iterator[Entry]:
        try:
            yield from self._crawl()
        finally:
            self.client.close()

    def _crawl(self) -> Iterator[Entry]:
        try:  # the site itself refused now (its name resolves inside since it was saved): nothing to crawl
            check_url(self.start_url)
        except OutboundRefused as exc:
            raise ReaderError(str(exc)) from None
        robots = self._robots()
        if not robots.can_fetch(USER_AGENT, self.start_url):
            raise ReaderError(f"{self.start_url} is disallowed for crawlers by the site's robots.txt.")
        delay = min(5.0, float(robots.crawl_delay(USER_AGENT) or 0))
        queue: deque[tuple[str, int]] = deque([(self.start_url, 0)])
        seen = {self.start_url}
        fetched = 0
        while queue and fetched < self.max_pages:
            url, depth = queue.popleft()
            if fetched and delay:
                time.sleep(delay)
            fetched += 1
            try:
                page = self.client.get(url)
            except FetchError as exc:
                yield _failed(url, str(exc))
                continue
            if page.status >= 400:
                yield _failed(url, f"{url} answered {page.status}.")
                continue
            if not self._same_site(page.url):
                continue  # redirected off the site
            kind = format_for(urlsplit(page.url).path, page.content_type)
            if kind == "html" and depth < self.max_depth:
                parser = _Links()
                parser.feed(page.body.decode("utf-8", "replace"))
                if not parser.nofollow:
                    for href in parser.links:
                        link = urldefrag(urljoin(page.url, href))[0]
                        if link not in seen and self._same_site(link) and robots.can_fetch(USER_AGENT, link):
                            seen.add(link)
                            queue.append((link, depth + 1))
            if kind is None:
                continue  # images, archives, ...: not knowledge
            yield Entry(
                uri=url,
                name=_name(url, kind),
                read=lambda body=page.body: body,  # type: ignore[misc]
                source_url=url,
                last_modified=page.last_modified,
                content_type=page.content_type,
            )


def _name(url: str, kind: str) -> str:
    name = PurePosixPath(urlsplit(url).path).name or "index"
    suffix = {"html": ".html", "pdf": ".pdf", "markdown": ".md", "text": ".txt"}[kind]
    return name if name.lower().endswith(suffix) else name + suffix


def _failed(url: str, message: str) -> Entry:
    def read() -> bytes:
        raise FetchError(message)

    return Entry(uri=url, name=_name(url, "html"), read=read, source_url=url)
