"""The one seam to git for the source-code connector: a repository read at a commit, never its working tree.

Every read goes through git's object store at a resolved commit (``git grep <sha>``, ``git cat-file``,
``git log``, ``git blame``), so only tracked content is visible and nothing outside the repository can be
reached, whatever a path says. A remote repository is a mirror clone in the connector's data directory,
fetched again when it is older than the refresh interval; every clone and fetch checks the remote against the
outbound-URL policy first and holds git to the addresses checked (apps/core/outbound_git.py). A token for a
private HTTPS remote goes to git as an HTTP header through the environment (GIT_CONFIG_*), so it is never
written to the clone's config or shown in a process list.
"""

from __future__ import annotations

import base64
import os
import posixpath
import re
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from apps.core import outbound_git
from apps.core.outbound import OutboundRefused, Unresolvable

GIT_TIMEOUT_S = 60
CLONE_TIMEOUT_S = 600
REF_PATTERN = re.compile(r"^[A-Za-z0-9._/@{}~^-]{1,200}$")


class RepoError(Exception):
    """A request the repository cannot answer; the message says what to change."""


@dataclass(frozen=True)
class GrepHit:
    path: str
    line: int
    text: str


def is_remote(location: str) -> bool:
    return location.startswith(("https://", "http://", "ssh://", "git://", "file://")) or bool(
        re.match(r"^[\w.-]+@[\w.-]+:", location)  # scp-like: git@github.com:acme/billing.git
    )


def clean_path(path: str) -> str:
    """A repository-relative path, or RepoError for anything that would point outside the repository."""
    raw = path.strip().replace("\\", "/")
    if not raw or "\0" in raw:
        raise RepoError("Give a file path relative to the repository root, e.g. billing/webhook.py.")
    if raw.startswith("/") or re.match(r"^[A-Za-z]:/", raw):
        raise RepoError(f"{path!r} is an absolute path; give a path relative to the repository root.")
    normal = posixpath.normpath(raw)
    if normal == ".." or normal.startswith("../") or "/../" in f"/{normal}/":
        raise RepoError(f"{path!r} points outside the repository; only files inside it can be read.")
    return normal.removeprefix("./")


class Repo:
    """A git repository at ``location``: a local path used in place, or a remote URL mirrored under ``cache_dir``."""

    def __init__(self, location: str, *, cache_dir: Path | None, token: str = "", refresh_s: float = 300.0) -> None:
        self.location = location
        self.remote = is_remote(location)
        self.refresh_s = refresh_s
        self._fetched_at = 0.0
        self._lock = threading.Lock()
        self._env = self._git_env(token)
        if self.remote:
            if cache_dir is None:
                raise RepoError("A remote repository needs a data directory to clone into (GABY_CODE_CACHE_DIR).")
            self.git_dir = cache_dir
        else:
            path = Path(location).expanduser()
            if not path.is_dir():
                raise RepoError(f"{location!r} is not a directory on the Gaby host.")
            self.git_dir = Path(self._run_at(path, "rev-parse", "--absolute-git-dir").strip())

    @staticmethod
    def _git_env(token: str) -> dict[str, str]:
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": os.environ.get("HOME", "/nonexistent"),
            "GIT_TERMINAL_PROMPT": "0",  # never wait for a password on a pipe
            "GIT_CONFIG_NOSYSTEM": "1",
            "LC_ALL": "C",
        }
        config = [("core.fsmonitor", "false"), ("safe.directory", "*"), ("core.quotePath", "false")]
        if token:
            basic = base64.b64encode(f"x-access-token:{token}".encode()).decode()
            config.append(("http.extraHeader", f"Authorization: Basic {basic}"))
        env["GIT_CONFIG_COUNT"] = str(len(config))
        for index, (key, value) in enumerate(config):
            env[f"GIT_CONFIG_KEY_{index}"] = key
            env[f"GIT_CONFIG_VALUE_{index}"] = value
        return env

    def _run_at(self, cwd: Path, *args: str, timeout: float = GIT_TIMEOUT_S, config: list[str] | None = None) -> str:
        command = ["git", *outbound_git.config_args(config or []), *args]
        try:
            done = subprocess.run(command, cwd=cwd, env=self._env, capture_output=True, timeout=timeout, check=False)
        except subprocess.TimeoutExpired:
            raise RepoError(f"git {args[0]} took longer than {timeout:g}s.") from None
        if done.returncode != 0:
            message = done.stderr.decode(errors="replace").strip().splitlines()
            raise RepoError(f"git {args[0]} failed: {message[-1] if message else done.returncode}")
        return done.stdout.decode(errors="replace")

    def git(
        self,
        *args: str,
        timeout: float = GIT_TIMEOUT_S,
        ok_codes: tuple[int, ...] = (0,),
        config: list[str] | None = None,
    ) -> bytes:
        command = ["git", f"--git-dir={self.git_dir}", *outbound_git.config_args(config or []), *args]
        try:
            done = subprocess.run(command, env=self._env, capture_output=True, timeout=timeout, check=False)
        except subprocess.TimeoutExpired:
            raise RepoError(f"git {args[0]} took longer than {timeout:g}s; narrow the request.") from None
        if done.returncode not in ok_codes:
            message = done.stderr.decode(errors="replace").strip().splitlines()
            raise RepoError(f"git {args[0]} failed: {message[-1] if message else done.returncode}")
        return done.stdout

    # --- remote mirror ---------------------------------------------------------------------------
    def sync(self, *, force: bool = False) -> None:
        """Clone a remote repository the first time, fetch it when older than the refresh interval."""
        if not self.remote:
            return
        with self._lock:
            if not force and time.monotonic() - self._fetched_at < self.refresh_s:
                return
            remote, network = self._network_options()
            if not (self.git_dir / "HEAD").exists():
                self.git_dir.parent.mkdir(parents=True, exist_ok=True)
                clone = ("clone", "--mirror", "--quiet", "--", remote, str(self.git_dir))
                self._run_at(self.git_dir.parent, *clone, timeout=CLONE_TIMEOUT_S, config=network)
            else:
                self.git("remote", "set-url", "origin", remote)
                self.git("fetch", "--prune", "--quiet", "origin", timeout=CLONE_TIMEOUT_S, config=network)
            self._fetched_at = time.monotonic()

    def _network_options(self) -> tuple[str, list[str]]:
        try:
            return outbound_git.network_options(self.location)
        except OutboundRefused as exc:
            raise RepoError(str(exc)) from None
        except Unresolvable as exc:
            raise RepoError(f"Cannot reach the repository: {exc}") from None

    # --- reads -----------------------------------------------------------------------------------
    def resolve(self, ref: str | None) -> str:
        """The commit SHA of ``ref`` (default HEAD); refs are checked before git sees them."""
        ref = (ref or "HEAD").strip()
        if not REF_PATTERN.match(ref) or ref.startswith("-") or ".." in ref:
            raise RepoError(f"{ref!r} is not a branch, tag or commit name.")
        out = self.git("rev-parse", "--verify", "--quiet", "--end-of-options", f"{ref}^{{commit}}", ok_codes=(0, 1))
        sha = out.decode().strip()
        if not sha:
            raise RepoError(f"No branch, tag or commit named {ref!r} in this repository.")
        return sha

    def grep(
        self, sha: str, patterns: list[str], *, fixed: bool, ignore_case: bool, pathspecs: list[str], limit: int
    ) -> tuple[list[GrepHit], bool]:
        """Matching lines of tracked text files at ``sha``; at most ``limit`` (and whether there were more)."""
        args = ["grep", "-n", "-z", "-I", "--no-color", "-F" if fixed else "-E"]
        if ignore_case:
            args.append("-i")
        for pattern in patterns:
            args += ["-e", pattern]
        args += [sha, "--", *(pathspecs or ["."])]
        out = self.git(*args, ok_codes=(0, 1))
        hits: list[GrepHit] = []
        for record in out.split(b"\n"):
            if not record:
                continue
            parts = record.split(b"\0", 2)
            if len(parts) != 3:
                continue
            path = parts[0].decode(errors="replace").removeprefix(f"{sha}:")
            hits.append(GrepHit(path=path, line=int(parts[1]), text=parts[2].decode(errors="replace")))
            if len(hits) > limit:
                return hits[:limit], True
        return hits, False

    def blob_lines(self, sha: str, path: str) -> list[str]:
        """The lines of a tracked text file at ``sha``."""
        kind = self.git("cat-file", "-t", f"{sha}:{path}", ok_codes=(0, 128)).decode().strip()
        if kind != "blob":
            what = "a directory" if kind == "tree" else "not a file in the repository"
            raise RepoError(f"{path} is {what} at {sha[:10]}; list files with search or check the path.")
        data = self.git("cat-file", "blob", f"{sha}:{path}")
        if b"\0" in data[:8000]:
            raise RepoError(f"{path} is a binary file; only text files can be read.")
        return data.decode(errors="replace").splitlines()

    def log(self, sha: str, *, path: str | None, limit: int) -> Iterator[tuple[str, str, str, str, list[str]]]:
        """(sha, author, ISO date, subject, files) for the last ``limit`` commits reaching ``sha``."""
        args = ["log", f"-n{limit}", "--no-color", "--name-only", "--format=%x1e%H%x1f%an%x1f%aI%x1f%s", sha]
        out = self.git(*args, *(["--", path] if path else [])).decode(errors="replace")
        for chunk in out.split("\x1e")[1:]:
            header, _, files = chunk.partition("\n")
            commit, author, date, subject = [*header.split("\x1f"), "", "", ""][:4]
            yield commit, author, date, subject, [name for name in files.splitlines() if name.strip()]

    def blame(self, sha: str, path: str, start: int, end: int) -> list[tuple[int, str, str, str, str]]:
        """(line, commit, author, date, text) for lines ``start``..``end`` of ``path`` at ``sha``."""
        out = self.git("blame", "--porcelain", "-L", f"{start},{end}", sha, "--", path).decode(errors="replace")
        commits: dict[str, dict[str, str]] = {}
        rows: list[tuple[int, str, str, str, str]] = []
        current: dict[str, str] = {}
        line_no, commit = 0, ""
        for line in out.splitlines():
            if line.startswith("\t"):
                info = commits.setdefault(commit, current)
                rows.append((line_no, commit, info.get("author", ""), info.get("date", ""), line[1:]))
                continue
            head = line.split(" ")
            if len(head) >= 3 and len(head[0]) >= 40 and all(c in "0123456789abcdef" for c in head[0]):
                commit, line_no = head[0], int(head[2])
                current = commits.get(commit, {})
                commits.setdefault(commit, current)
            elif line.startswith("author "):
                current["author"] = line[7:]
            elif line.startswith("author-time "):
                current["date"] = time.strftime("%Y-%m-%d", time.gmtime(int(line[12:])))
        return rows
