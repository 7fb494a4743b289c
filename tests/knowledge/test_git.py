"""Git sources through the real ``git`` command: clone, re-sync pulls, commit dates, browsable citations."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest

from apps.knowledge.models import Document, SourceKind
from apps.knowledge.readers.git import web_url_base
from apps.knowledge.retrieval import line_url
from apps.knowledge.services import create_source, sync_now
from tests.knowledge.conftest import RUNBOOKS, write_tree

pytestmark = pytest.mark.django_db


def git(repo: Path, *args: str, date: str = "2024-03-01T10:00:00+00:00") -> None:
    env = {"GIT_AUTHOR_DATE": date, "GIT_COMMITTER_DATE": date, "HOME": str(repo.parent), "PATH": "/usr/bin:/bin"}
    subprocess.run(
        ["git", "-c", "user.name=T", "-c", "user.email=t@example.com", *args],
        cwd=repo,
        env=env,
        check=True,
        capture_output=True,
    )


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = write_tree(tmp_path / "kb-repo", {f"docs/{name}": text for name, text in RUNBOOKS.items()})
    (root / "README.md").write_text("# Readme\n\nOutside the docs folder.\n")
    git(root, "init", "-q", "-b", "main")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "first")
    return root


def test_git_source_clones_and_a_resync_pulls_only_what_changed(
    in_hartwell: Any, repo: Path, settings: Any, tmp_path: Path, provider: Any
) -> None:
    settings.KNOWLEDGE_GIT_DIR = tmp_path / "checkouts"
    source = create_source(
        kind=SourceKind.GIT, name="Repo", config={"url": str(repo), "subdir": "docs"}, server_paths=True
    )
    first = sync_now(source=source)
    assert first.added == 4
    vpn = Document.objects.get(source=source, uri="vpn.md")
    assert vpn.last_modified is not None and vpn.last_modified.year == 2024  # the commit's date, not the clone's
    assert not Document.objects.filter(uri="README.md").exists()  # outside the sub-directory

    path = repo / "docs" / "vpn.md"
    path.write_text(path.read_text().replace("24 hours", "48 hours"))
    (repo / "docs" / "email.txt").unlink()
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "second", date="2025-06-01T10:00:00+00:00")
    texts = provider.texts_embedded

    second = sync_now(source=source)

    assert second.updated == 1 and second.deleted == 1 and second.unchanged == 2
    assert second.chunks_embedded == 1 == provider.texts_embedded - texts
    vpn.refresh_from_db()
    assert vpn.last_modified.year == 2025
    assert sync_now(source=source).chunks_embedded == 0


def test_a_failing_clone_is_reported(in_hartwell: Any, tmp_path: Path, settings: Any) -> None:
    from apps.knowledge.readers import ReaderError

    settings.KNOWLEDGE_GIT_DIR = tmp_path / "checkouts"
    source = create_source(
        kind=SourceKind.GIT, name="Missing", config={"url": str(tmp_path / "nope")}, server_paths=True
    )
    with pytest.raises(ReaderError, match="git clone failed"):
        sync_now(source=source)
    source.refresh_from_db()
    assert source.status == "failed" and "git clone failed" in source.last_error


def test_clone_urls_with_credentials_are_refused(in_hartwell: Any) -> None:
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError, match="Leave credentials out"):
        create_source(kind=SourceKind.GIT, name="Secret", config={"url": "https://user:tok@git.example.com/a.git"})


def test_citations_link_to_the_lines_on_the_web_host() -> None:
    base = web_url_base("https://github.com/acme/runbooks.git", "abc123")
    assert base == "https://github.com/acme/runbooks/blob/abc123"
    assert line_url(f"{base}/docs/vpn.md", 5, 7) == f"{base}/docs/vpn.md?plain=1#L5-L7"
    assert web_url_base("/srv/repo", "abc") == ""


def test_a_branch_that_reads_as_a_git_option_is_refused(
    in_hartwell: Any, repo: Path, settings: Any, tmp_path: Path
) -> None:
    from django.core.exceptions import ValidationError

    from apps.knowledge.models import KnowledgeSource
    from apps.knowledge.readers import ReaderError

    settings.KNOWLEDGE_GIT_DIR = tmp_path / "checkouts"
    marker = tmp_path / "ran"
    injected = f"--upload-pack=touch {marker}; git-upload-pack"
    with pytest.raises(ValidationError, match="branch's name"):
        create_source(
            kind=SourceKind.GIT, name="Evil", config={"url": str(repo), "branch": injected}, server_paths=True
        )
    # A source stored before this check existed: its next fetch must not run the command either.
    source = create_source(kind=SourceKind.GIT, name="Repo", config={"url": str(repo)}, server_paths=True)
    sync_now(source=source)
    KnowledgeSource.objects.filter(pk=source.pk).update(config={"url": str(repo), "branch": injected})
    source.refresh_from_db()
    with pytest.raises(ReaderError, match="branch's name"):
        sync_now(source=source)
    assert not marker.exists()


def test_a_repository_on_the_servers_disk_needs_msp_staff(in_hartwell: Any, repo: Path) -> None:
    from django.core.exceptions import ValidationError

    for url in (str(repo), f"file://{repo}"):
        with pytest.raises(ValidationError, match="Only MSP staff"):
            create_source(kind=SourceKind.GIT, name="Local", config={"url": url})
    assert create_source(kind=SourceKind.GIT, name="Local", config={"url": f"file://{repo}"}, server_paths=True).pk
