"""Website crawl against a real local HTTP server: same site, depth and page limits, robots.txt, 429 and 5xx."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from apps.knowledge.models import Document, KnowledgeSource, SourceKind, SyncStatus
from apps.knowledge.readers import ReaderError
from apps.knowledge.services import create_source, sync_now

pytestmark = pytest.mark.django_db


def _page(title: str, body: str, links: list[str]) -> bytes:
    anchors = "".join(f'<li><a href="{href}">{href}</a></li>' for href in links)
    head = f"<html><head><title>{title}</title></head>"
    return f"{head}<body><h1>{title}</h1><p>{body}</p><ul>{anchors}</ul></body></html>".encode()


class Site:
    """Pages by path; records every request; ``/kb/flaky.html`` answers 429 once, ``/kb/broken.html`` always 500."""

    def __init__(self) -> None:
        self.requests: list[str] = []
        self.robots = "User-agent: *\nDisallow: /private/\n"
        self.flaky_left = 1
        self.port = 0

    def pages(self) -> dict[str, tuple[str, bytes]]:
        other_host = f"http://localhost:{self.port}/kb/other-host.html"
        html = "text/html; charset=utf-8"
        return {
            "/kb/": (
                html,
                _page(
                    "Help centre",
                    "Start here.",
                    [
                        "vpn.html",
                        "/kb/printer.html#jams",
                        "/private/secret.html",
                        other_host,
                        "flaky.html",
                        "broken.html",
                        "guide.md",
                        "logo.png",
                        "#top",
                    ],
                ),
            ),
            "/kb/vpn.html": (html, _page("VPN help", "Reset the VPN password from the portal.", ["deep/level2.html"])),
            "/kb/printer.html": (html, _page("Printer help", "Clear the paper jam in tray 2.", ["vpn.html"])),
            "/kb/flaky.html": (html, _page("Flaky page", "Answered after a 429.", [])),
            "/kb/guide.md": ("text/markdown", b"# Guide\n\n## Wi-Fi\n\nUse the guest network for visitors.\n"),
            "/kb/logo.png": ("image/png", b"\x89PNG not knowledge"),
            "/kb/deep/level2.html": (html, _page("Level two", "Two links deep.", ["level3.html"])),
            "/kb/deep/level3.html": (html, _page("Level three", "Too deep to crawl.", [])),
            "/private/secret.html": (html, _page("Secret", "Never crawled.", [])),
        }


@pytest.fixture
def site() -> Iterator[Site]:
    state = Site()

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def do_GET(self) -> None:
            state.requests.append(self.path)
            if self.path == "/robots.txt":
                return self._send(200, "text/plain", state.robots.encode())
            if self.path == "/kb/broken.html":
                return self._send(500, "text/plain", b"boom")
            if self.path == "/kb/flaky.html" and state.flaky_left:
                state.flaky_left -= 1
                return self._send(429, "text/plain", b"slow down", {"Retry-After": "0"})
            page = state.pages().get(self.path)
            if page is None:
                return self._send(404, "text/plain", b"not found")
            self._send(200, page[0], page[1], {"Last-Modified": "Tue, 01 Apr 2025 10:00:00 GMT"})

        def _send(self, status: int, content_type: str, body: bytes, headers: dict[str, str] | None = None) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(body)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state
    server.shutdown()
    server.server_close()


def _crawl(site: Site, **config: Any) -> KnowledgeSource:
    return create_source(
        kind=SourceKind.URL_CRAWL, name="Help centre", config={"url": f"http://127.0.0.1:{site.port}/kb/", **config}
    )


def test_crawl_stays_on_site_respects_robots_and_depth(in_hartwell: Any, site: Site, provider: Any) -> None:
    source = _crawl(site, max_depth=2)
    report = sync_now(source=source)
    base = f"http://127.0.0.1:{site.port}"
    indexed = {d.uri.removeprefix(base): d for d in Document.objects.filter(source=source)}
    assert set(indexed) == {
        "/kb/",
        "/kb/vpn.html",
        "/kb/printer.html",
        "/kb/flaky.html",
        "/kb/guide.md",
        "/kb/deep/level2.html",
        "/kb/broken.html",
    }
    assert "/private/secret.html" not in site.requests  # robots.txt
    assert "/kb/deep/level3.html" not in site.requests  # depth 3 > 2
    assert "/kb/other-host.html" not in site.requests  # another host
    assert site.requests.count("/kb/flaky.html") == 2  # 429, then retried
    assert site.requests.count("/kb/broken.html") == 3  # 5xx retried, then kept with its error
    assert "answered 500 after 3 tries" in indexed["/kb/broken.html"].error
    assert report.failed == 1 and report.added == 6
    vpn = indexed["/kb/vpn.html"]
    assert vpn.title == "VPN help" and vpn.source_url == f"{base}/kb/vpn.html"
    assert vpn.last_modified is not None and vpn.last_modified.year == 2025
    assert indexed["/kb/guide.md"].chunks.get().heading_path == ["Guide", "Wi-Fi"]

    texts = provider.texts_embedded
    again = sync_now(source=source)
    assert again.chunks_embedded == 0 and provider.texts_embedded == texts


def test_page_limit(in_hartwell: Any, site: Site) -> None:
    source = _crawl(site, max_pages=3)
    sync_now(source=source)
    assert Document.objects.filter(source=source).count() == 3
    assert len([p for p in site.requests if p != "/robots.txt"]) == 3


def test_robots_disallowing_the_site_fails_the_sync_visibly(in_hartwell: Any, site: Site) -> None:
    site.robots = "User-agent: *\nDisallow: /\n"
    source = _crawl(site)
    with pytest.raises(ReaderError):
        sync_now(source=source)
    source.refresh_from_db()
    assert source.status == SyncStatus.FAILED and "disallowed for crawlers" in source.last_error
    assert site.requests == ["/robots.txt"]


def test_crawl_settings_are_validated(in_hartwell: Any) -> None:
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError, match="starting with https://"):
        create_source(kind=SourceKind.URL_CRAWL, name="Bad", config={"url": "ftp://example.com/"})
    with pytest.raises(ValidationError, match="from 0 to 10"):
        create_source(kind=SourceKind.URL_CRAWL, name="Deep", config={"url": "https://example.com/", "max_depth": 50})
