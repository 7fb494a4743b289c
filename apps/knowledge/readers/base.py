"""What every reader yields: one entry per document, read lazily."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol


class ReaderError(Exception):
    """The source as a whole cannot be read (missing directory, failed clone): the sync fails with this."""


@dataclass(frozen=True)
class Entry:
    uri: str  # stable identity inside the source (a relative path, a URL)
    name: str  # file name, for format detection
    read: Callable[[], bytes]
    source_url: str = ""
    last_modified: datetime | None = None
    content_type: str = ""
    title: str = ""  # a title the source already knows (else the extractor finds one)
    # The source vouches that ``last_modified`` changes whenever the content does (past tickets'
    # updated_at): an entry whose document has the same last_modified is skipped without being read.
    trust_last_modified: bool = False


class Reader(Protocol):
    def entries(self) -> Iterator[Entry]: ...
