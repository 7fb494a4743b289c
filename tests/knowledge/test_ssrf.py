"""Issue 18, item 1: knowledge sources that point inside the install's network (SSRF), through the real paths.

A client's Admin indexed an internal page holding keys and a Viewer read it. Every URL below is refused where the
Admin types it (API and page: 400 saying why), and a sync refuses what changed since (a redirect hop, a DNS answer)
without reaching it. The test profile allows loopback for local servers; these tests set the production default
(nothing allowed) or a narrow allow-list themselves.
"""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest
from django_tenants.utils import tenant_context

from apps.knowledge.models import Document, KnowledgeSource, SourceKind, SyncStatus
from apps.knowledge.readers import ReaderError
from apps.knowledge.services import create_source, sync_now
from tests.knowledge.conftest import RUNBOOKS, write_tree
from tests.outbound_helpers import PUBLIC_IP, FakeDNS, serve, serve_directory

pytestmark = pytest.mark.django_db
SOURCES = "/api/v1/knowledge/sources"
INTERNAL = [
    ("http://169.254.169.254/latest/meta-data/iam/security-credentials/", "a link-local (cloud metadata) address"),
    ("http://metadata.google.internal/computeMetadata/v1/", "a cloud metadata host"),
    ("http://metadata.google.internal./computeMetadata/v1/", "a cloud metadata host"),
    ("http://[::1]:8000/", "resolves to ::1, a loopback address"),
    ("http://0.0.0.0:6379/", "resolves to 0.0.0.0, an unspecified address"),
    ("http://2130706433:8000/", "resolves to 127.0.0.1, a loopback address"),
    ("http://0x7f.1/", "resolves to 127.0.0.1, a loopback address"),
    ("http://[::ffff:169.254.169.254]/", "(IPv4-mapped 169.254.169.254)"),
    ("http://localhost.:5432/", "resolves to 127.0.0.1, a loopback address"),
    ("https://10.0.0.12/wiki/", "a private address"),
    ("http://100.100.100.200/latest/meta-data/", "a cloud metadata address"),
]


@pytest.fixture
def production(settings: Any) -> Any:
    settings.OUTBOUND_ALLOW = []
    return settings


@pytest.mark.parametrize(("url", "said"), INTERNAL)
def test_a_crawl_of_an_internal_address_is_refused_by_the_api(
    as_user: Any, hartwell: Any, production: Any, url: str, said: str
) -> None:
    alice = as_user("alice", "hartwell")  # the client's Admin
    response = alice.post(
        SOURCES, {"kind": "url_crawl", "name": "Intranet", "url": url}, content_type="application/json"
    )
    assert response.status_code == 400, response.content
    message = response.json()["detail"]["url"][0]
    assert said in message and "GABY_OUTBOUND_ALLOW" in message
    with tenant_context(hartwell):
        assert not KnowledgeSource.objects.exists()


def test_the_sources_page_shows_the_refusal_in_the_form(as_user: Any, hartwell: Any, production: Any) -> None:
    alice = as_user("alice", "hartwell")
    form = {"kind": "url_crawl", "name": "Metadata", "url": "http://169.254.169.254/latest/"}
    response = alice.post("/knowledge/sources/new/", form, HTTP_HX_REQUEST="true")
    assert response.status_code == 400
    assert "resolves to 169.254.169.254, a link-local (cloud metadata) address" in response.content.decode()
    with tenant_context(hartwell):
        assert not KnowledgeSource.objects.exists()


@pytest.mark.parametrize(
    ("url", "said"),
    [
        ("http://169.254.169.254/repo.git", "a link-local (cloud metadata) address"),
        ("https://[::1]:3000/acme/runbooks.git", "a loopback address"),
        ("ssh://git@127.0.0.1:2222/acme/runbooks.git", "a loopback address"),
        ("git://10.1.1.1/runbooks.git", "a private address"),
        ("ext::sh -c touch% /tmp/pwned", "Use an https://, ssh://, git:// or file:// URL"),
        ("file:///var/lib/gaby/knowledge/git/otherclient/1", "Only MSP staff"),
        ("/var/lib/gaby/knowledge/git/otherclient/1", "Only MSP staff"),
    ],
)
def test_a_git_remote_inside_the_network_is_refused_by_the_api(
    as_user: Any, hartwell: Any, production: Any, url: str, said: str
) -> None:
    alice = as_user("alice", "hartwell")
    response = alice.post(SOURCES, {"kind": "git", "name": "Runbooks", "url": url}, content_type="application/json")
    assert response.status_code == 400 and said in response.json()["detail"]["url"][0]


def _crawl(url: str) -> KnowledgeSource:
    return create_source(kind=SourceKind.URL_CRAWL, name="Help centre", config={"url": url, "max_depth": 1})


def test_a_redirect_to_an_internal_address_is_kept_on_its_document(in_hartwell: Any, settings: Any) -> None:
    """The site (127.0.0.2, allowed like a public site) redirects one page to 127.0.0.1: that page is recorded as
    failed with the reason, nothing is fetched there, and the rest of the crawl goes on."""
    settings.OUTBOUND_ALLOW = ["127.0.0.2/32"]
    with serve("127.0.0.2") as site, serve("127.0.0.1") as internal:
        secret = internal.url("/keys.html")
        html = {"Content-Type": "text/html"}
        site.routes["/kb/"] = (200, html, b'<h1>Help</h1><a href="vpn.html">VPN</a> <a href="keys.html">Keys</a>')
        site.routes["/kb/vpn.html"] = (200, html, b"<h1>VPN</h1><p>Reset the VPN password from the portal.</p>")
        site.routes["/kb/keys.html"] = (302, {"Location": secret}, b"")
        source = _crawl(site.url("/kb/"))
        report = sync_now(source=source)
    assert internal.requests == []
    documents = {d.uri.removeprefix(site.url("")): d for d in Document.objects.filter(source=source)}
    assert set(documents) == {"/kb/", "/kb/vpn.html", "/kb/keys.html"} and report.failed == 1
    error = documents["/kb/keys.html"].error
    assert f"{site.url('/kb/keys.html')} redirects to a refused address: {secret} resolves to 127.0.0.1" in error
    assert not documents["/kb/keys.html"].chunks.exists() and documents["/kb/vpn.html"].chunks.exists()
    source.refresh_from_db()
    assert source.status == SyncStatus.OK


def test_a_site_whose_name_now_resolves_inside_fails_its_sync_unfetched(
    in_hartwell: Any, production: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Saved while the name answered a public address; by the sync it answers 127.0.0.1 (DNS rebinding)."""
    dns = FakeDNS(monkeypatch)
    with serve("127.0.0.1") as internal:
        dns.answer("help.example", [PUBLIC_IP], ["127.0.0.1"])
        source = _crawl(f"http://help.example:{internal.port}/kb/")
        with pytest.raises(ReaderError, match=r"resolves to 127\.0\.0\.1, a loopback address"):
            sync_now(source=source)
    assert internal.requests == []
    source.refresh_from_db()
    assert source.status == SyncStatus.FAILED and "GABY_OUTBOUND_ALLOW" in source.last_error


def _git(cwd: Path, *args: str) -> None:
    env = {"HOME": str(cwd.parent), "PATH": "/usr/bin:/bin", "GIT_AUTHOR_DATE": "2024-03-01T10:00:00+00:00"}
    subprocess.run(
        ["git", "-c", "user.name=T", "-c", "user.email=t@example.com", *args],
        cwd=cwd,
        env={**env, "GIT_COMMITTER_DATE": env["GIT_AUTHOR_DATE"]},
        check=True,
        capture_output=True,
    )


@pytest.fixture
def bare_repo(tmp_path: Path) -> Path:
    """A repository served over git's "dumb" HTTP protocol (static files)."""
    work = write_tree(tmp_path / "work", {f"docs/{name}": text for name, text in RUNBOOKS.items()})
    _git(work, "init", "-q", "-b", "main")
    _git(work, "add", "-A")
    _git(work, "commit", "-q", "-m", "first")
    served = tmp_path / "served"
    served.mkdir()
    _git(tmp_path, "clone", "-q", "--bare", str(work), str(served / "runbooks.git"))
    _git(served / "runbooks.git", "update-server-info")
    return served


def test_git_clones_over_http_from_the_address_checked(
    in_hartwell: Any, settings: Any, tmp_path: Path, bare_repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``git.corp.example`` exists only in Gaby's (fake) resolver: git can reach it only at the address Gaby
    checked and handed to curl, not by looking the name up itself."""
    settings.KNOWLEDGE_GIT_DIR = tmp_path / "checkouts"
    settings.OUTBOUND_ALLOW = ["127.0.0.2/32"]
    dns = FakeDNS(monkeypatch)
    dns.answer("git.corp.example", ["127.0.0.2"])
    with serve_directory(bare_repo, "127.0.0.2") as server:
        url = f"http://git.corp.example:{server.port}/runbooks.git"
        source = create_source(kind=SourceKind.GIT, name="Runbooks", config={"url": url, "subdir": "docs"})
        assert sync_now(source=source).added == 4
    assert server.requests and {host for _, host in server.requests} == {f"git.corp.example:{server.port}"}


def test_a_git_remote_refused_at_sync_is_not_contacted(
    in_hartwell: Any, settings: Any, tmp_path: Path, bare_repo: Path
) -> None:
    settings.KNOWLEDGE_GIT_DIR = tmp_path / "checkouts"
    with serve_directory(bare_repo, "127.0.0.1") as server:
        source = create_source(kind=SourceKind.GIT, name="Runbooks", config={"url": server.url("/runbooks.git")})
        settings.OUTBOUND_ALLOW = []  # saved while allowed; the operator has since removed the range
        with pytest.raises(ReaderError, match=r"resolves to 127\.0\.0\.1, a loopback address"):
            sync_now(source=source)
    assert server.requests == []
    source.refresh_from_db()
    assert source.status == SyncStatus.FAILED and "GABY_OUTBOUND_ALLOW" in source.last_error
