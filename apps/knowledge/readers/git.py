"""A git repository, local path or clone URL, read through the ``git`` command line (KB-1).

The first sync clones into the data directory (one checkout per client and source); later syncs
fetch and reset to the remote branch, so a re-sync sees exactly what the repository holds now.
Each file's last-modified time is its last commit's date, read in one ``git log`` pass.

A remote's host goes through the outbound-URL policy (apps/core/outbound.py) when the source is saved and
before every clone or fetch. Over http(s) git connects to the addresses checked (``http.curloptResolve``) and
follows no redirect; every run allows git only the remote's own protocol, so no ``ext::`` or ``file://``
sneaks in. A path on the Gaby server is for MSP staff only (apps/knowledge/services.py).
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings

from apps.core import outbound_git
from apps.core.outbound import OutboundRefused, Unresolvable
from apps.knowledge.models import KnowledgeSource
from apps.knowledge.readers.base import Entry, ReaderError
from apps.knowledge.readers.directory import DirectoryReader
from apps.knowledge.tenancy import current_schema

GIT_TIMEOUT_SECONDS = 600


def validate_repository_url(url: str) -> str:
    """A clone URL or an absolute local path; credentials in the URL are refused (they would be stored)."""
    url = url.strip()
    if not url:
        raise ReaderError("Give the repository's clone URL or its absolute path on the Gaby server.")
    if url.startswith("/"):
        return url
    parts = urlsplit(url)
    if parts.scheme not in {"https", "http", "ssh", "git", "file"}:
        raise ReaderError("Use an https://, ssh://, git:// or file:// URL, or an absolute path.")
    if parts.password or (parts.username and parts.scheme in {"https", "http"}):
        raise ReaderError("Leave credentials out of the URL: private repositories over HTTPS are not supported yet.")
    if parts.scheme != "file":
        _check_remote(url)  # a name that does not resolve now is kept: every clone and fetch checks again
    return url


def _check_remote(url: str) -> None:
    try:
        outbound_git.check_remote(url)
    except OutboundRefused as exc:
        raise ReaderError(str(exc)) from None


def network_options(remote: str) -> tuple[str, list[str]]:
    """``remote`` as git should reach it, and the ``git -c`` settings that hold it to the policy (DESIGN.md §8)."""
    try:
        return outbound_git.network_options(remote)
    except OutboundRefused as exc:
        raise ReaderError(str(exc)) from None
    except Unresolvable as exc:
        raise ReaderError(f"Cannot reach the repository: {exc}") from None


def validate_branch(branch: str) -> str:
    """A branch name as git itself accepts it; a leading "-" would be read as an option (``--upload-pack=...``)."""
    branch = branch.strip()
    if branch and (branch.startswith("-") or any(c.isspace() or ord(c) < 32 for c in branch)):
        raise ReaderError("Give the branch's name, e.g. main (no spaces, not starting with -).")
    return branch


def web_url_base(url: str, commit: str) -> str:
    """A browsable address for files of a repository hosted on the web (GitHub-style ``/blob/``)."""
    if not url.startswith(("https://", "http://")):
        return ""
    base = url.removesuffix("/").removesuffix(".git")
    return f"{base}/blob/{commit}"


class GitReader:
    def __init__(self, url: str, checkout: Path, *, branch: str = "", subdir: str = "") -> None:
        self.url = validate_repository_url(url)
        self.checkout = checkout
        self.branch = validate_branch(branch)
        self.subdir = subdir.strip().strip("/")
        self.commit = ""

    @classmethod
    def from_source(cls, source: KnowledgeSource) -> GitReader:
        config: dict[str, Any] = source.config
        checkout = Path(settings.KNOWLEDGE_GIT_DIR) / current_schema() / str(source.pk)
        return cls(
            str(config.get("url") or ""),
            checkout,
            branch=str(config.get("branch") or ""),
            subdir=str(config.get("subdir") or ""),
        )

    def _git(self, *args: str, cwd: Path | None = None, config: list[str] | None = None) -> str:
        env = {**os.environ, "GIT_TERMINAL_PROMPT": "0", "GIT_ASKPASS": "true", "LC_ALL": "C"}
        options = outbound_git.config_args(config or [])
        try:
            result = subprocess.run(
                ["git", *options, *args],
                cwd=cwd,
                env=env,
                capture_output=True,
                text=True,
                timeout=GIT_TIMEOUT_SECONDS,
                check=False,
            )
        except FileNotFoundError:
            raise ReaderError("The git command is not installed on the Gaby server.") from None
        except subprocess.TimeoutExpired:
            raise ReaderError(f"git {args[0]} took longer than {GIT_TIMEOUT_SECONDS} s.") from None
        if result.returncode != 0:
            detail = (result.stderr.strip().splitlines() or ["no output"])[-1]
            raise ReaderError(f"git {args[0]} failed: {detail}")
        return result.stdout

    def update(self) -> None:
        """Clone on the first sync; fetch and hard-reset to the remote branch afterwards."""
        remote, network = network_options(f"file://{self.url}" if self.url.startswith("/") else self.url)
        if not (self.checkout / ".git").exists():
            self.checkout.parent.mkdir(parents=True, exist_ok=True)
            branch_args = ["--branch", self.branch] if self.branch else []
            self._git("clone", "--quiet", "--no-tags", *branch_args, remote, str(self.checkout), config=network)
        else:
            self._git("remote", "set-url", "origin", remote, cwd=self.checkout)
            fetch = ("fetch", "--quiet", "--no-tags", "origin", self.branch or "HEAD")
            self._git(*fetch, cwd=self.checkout, config=network)
            self._git("reset", "--quiet", "--hard", "FETCH_HEAD", cwd=self.checkout)
        self.commit = self._git("rev-parse", "HEAD", cwd=self.checkout).strip()

    def _commit_dates(self) -> dict[str, datetime]:
        """Path -> date of the last commit that touched it, from one pass over the history."""
        dates: dict[str, datetime] = {}
        current: datetime | None = None
        for line in self._git("log", "--format=%x00%cI", "--name-only", "HEAD", cwd=self.checkout).splitlines():
            if line.startswith("\x00"):
                current = datetime.fromisoformat(line[1:])
            elif line and current is not None:
                dates.setdefault(line, current)
        return dates

    def entries(self) -> Iterator[Entry]:
        self.update()
        root = self.checkout / self.subdir if self.subdir else self.checkout
        if not root.resolve().is_relative_to(self.checkout.resolve()):
            raise ReaderError("The sub-directory must stay inside the repository.")
        dates = self._commit_dates()
        web_base = web_url_base(self.url, self.commit)
        prefix = f"{self.subdir}/" if self.subdir else ""
        for entry in DirectoryReader(root).entries():
            repo_path = prefix + entry.uri
            yield Entry(
                uri=entry.uri,
                name=entry.name,
                read=entry.read,
                source_url=f"{web_base}/{repo_path}" if web_base else "",
                last_modified=dates.get(repo_path, entry.last_modified),
            )
