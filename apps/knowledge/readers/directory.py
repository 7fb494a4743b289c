"""A local directory of Markdown, text, HTML and PDF files (KB-1)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from apps.knowledge.extract import SUPPORTED_SUFFIXES
from apps.knowledge.readers.base import Entry, ReaderError


class DirectoryReader:
    def __init__(self, root: Path, *, source_url_base: str = "") -> None:
        self.root = root
        self.source_url_base = source_url_base.rstrip("/")

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> DirectoryReader:
        path = str(config.get("path") or "").strip()
        if not path:
            raise ReaderError("This directory source has no path: edit it and name a folder.")
        return cls(Path(path).expanduser(), source_url_base=str(config.get("source_url_base") or ""))

    def entries(self) -> Iterator[Entry]:
        root = self.root.resolve()
        if not root.is_dir():
            raise ReaderError(f"{self.root} is not a readable directory on the Gaby server.")
        for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
            # Hidden folders (.git, .venv, ...) and build output are never knowledge.
            dirnames[:] = sorted(
                d for d in dirnames if not d.startswith(".") and d not in {"node_modules", "__pycache__"}
            )
            for filename in sorted(filenames):
                path = Path(dirpath) / filename
                if filename.startswith(".") or path.is_symlink() or path.suffix.lower() not in SUPPORTED_SUFFIXES:
                    continue
                relative = path.relative_to(root).as_posix()
                yield Entry(
                    uri=relative,
                    name=filename,
                    read=path.read_bytes,
                    source_url=f"{self.source_url_base}/{relative}" if self.source_url_base else "",
                    last_modified=datetime.fromtimestamp(path.stat().st_mtime, tz=UTC),
                )
