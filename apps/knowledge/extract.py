"""Turn a file's bytes into text the chunker understands: Markdown, plain text, HTML and PDF.

HTML becomes Markdown-like text (headings as ``#`` lines, list items, table rows, fenced ``pre``)
so one chunker serves every format; a PDF becomes its pages' text under ``Page N`` headings. Line
numbers of HTML and PDF chunks therefore refer to this extracted text, not to the original bytes.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass, replace
from pathlib import PurePosixPath

import yaml

from apps.core.html_text import read_html

MARKDOWN_SUFFIXES = {".md", ".markdown", ".mdx"}
TEXT_SUFFIXES = {".txt", ".text", ".rst", ".log"}
HTML_SUFFIXES = {".html", ".htm"}
PDF_SUFFIXES = {".pdf"}
SUPPORTED_SUFFIXES = MARKDOWN_SUFFIXES | TEXT_SUFFIXES | HTML_SUFFIXES | PDF_SUFFIXES


class ExtractionError(ValueError):
    """The file could not be read as the format its name or content type claims."""


@dataclass(frozen=True)
class Extracted:
    title: str
    text: str
    markdown: bool  # parse headings, tables and fences (False: plain paragraphs and lists)
    tags: tuple[str, ...] = ()  # from Markdown front matter ``tags:``; search can filter on them


def format_for(name: str, content_type: str = "") -> str | None:
    """``markdown``, ``text``, ``html`` or ``pdf`` from a file name or an HTTP content type; None: unsupported."""
    content_type = content_type.split(";")[0].strip().lower()
    if content_type in {"text/html", "application/xhtml+xml"}:
        return "html"
    if content_type == "application/pdf":
        return "pdf"
    if content_type == "text/markdown":
        return "markdown"
    suffix = PurePosixPath(name).suffix.lower()
    if suffix in MARKDOWN_SUFFIXES:
        return "markdown"
    if suffix in TEXT_SUFFIXES or content_type == "text/plain":
        return "text"
    if suffix in HTML_SUFFIXES:
        return "html"
    if suffix in PDF_SUFFIXES:
        return "pdf"
    return None


def _decode(data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("latin-1")


def _title_from_name(name: str) -> str:
    stem = PurePosixPath(name).stem or name
    return re.sub(r"[-_]+", " ", stem).strip().capitalize() or name


class _NoAliasLoader(yaml.SafeLoader):
    """Safe YAML without anchors and aliases: ~500 bytes of nested aliases expand to gigabytes once the tags are
    turned into text (a "billion laughs"), and front matter never needs them."""

    def compose_node(self, parent: yaml.Node | None, index: object) -> yaml.Node | None:
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            raise yaml.composer.ComposerError(None, None, "aliases are not allowed in front matter", event.start_mark)
        return super().compose_node(parent, index)  # type: ignore[arg-type]


_FRONT_MATTER = re.compile(r"\A---[ \t]*\r?\n(.*?)^(?:---|\.\.\.)[ \t]*$", re.DOTALL | re.MULTILINE)
MAX_TAGS = 20


def front_matter_tags(text: str) -> tuple[tuple[str, ...], str]:
    """The ``tags:`` of a leading YAML front matter block (a list or a comma-separated string), lower-cased,
    and the text with that block blanked out line for line, so citations keep the file's line numbers."""
    match = _FRONT_MATTER.match(text)
    if not match:
        return (), text
    try:
        meta = yaml.load(match.group(1), Loader=_NoAliasLoader)  # noqa: S506 (a SafeLoader that refuses aliases)
    except yaml.YAMLError:
        return (), text  # not front matter after all (or an alias bomb): index the text as written
    raw = meta.get("tags") if isinstance(meta, dict) else None
    items = raw.split(",") if isinstance(raw, str) else raw if isinstance(raw, list) else []
    tags = tuple(dict.fromkeys(t for t in (str(i).strip().lower()[:100] for i in items if i is not None) if t))
    blanked = "\n" * match.group(0).count("\n") + text[match.end() :]
    return tags[:MAX_TAGS], blanked


def extract(name: str, data: bytes, *, content_type: str = "") -> Extracted:
    """The file's title and text; NUL characters are dropped (PostgreSQL text cannot hold them)."""
    extracted = _extract(name, data, content_type=content_type)
    if "\x00" in extracted.title or "\x00" in extracted.text:
        extracted = replace(
            extracted, title=extracted.title.replace("\x00", ""), text=extracted.text.replace("\x00", "")
        )
    return extracted


def _extract(name: str, data: bytes, *, content_type: str = "") -> Extracted:
    kind = format_for(name, content_type)
    if kind is None:
        raise ExtractionError(f"{name}: unsupported file type (use Markdown, plain text, HTML or PDF).")
    if kind == "pdf":
        return _extract_pdf(name, data)
    text = _decode(data)
    if kind == "html":
        return _extract_html(name, text)
    if kind == "markdown":
        tags, text = front_matter_tags(text)
        heading = re.search(r"^ {0,3}#\s+(.+?)\s*#*\s*$", text, re.MULTILINE)
        return Extracted(heading.group(1) if heading else _title_from_name(name), text, markdown=True, tags=tags)
    first_line = next((line.strip() for line in text.splitlines() if line.strip()), "")
    return Extracted(first_line[:200] if 0 < len(first_line) <= 120 else _title_from_name(name), text, markdown=False)


def _extract_html(name: str, html: str) -> Extracted:
    read = read_html(html)
    return Extracted(read.title or _title_from_name(name), read.text, markdown=True)


def _extract_pdf(name: str, data: bytes) -> Extracted:
    from pypdf import PdfReader  # deferred like every format's parser: only PDF uploads pay for it
    from pypdf.errors import LimitReachedError, PyPdfError

    try:
        reader = PdfReader(io.BytesIO(data))
        pages = [page.extract_text() or "" for page in reader.pages]
        metadata_title = (reader.metadata.title if reader.metadata else None) or ""
    except LimitReachedError as exc:
        raise ExtractionError(
            f"{name}: refused, its content decompresses past pypdf's limit (a possible decompression bomb): {exc}"
        ) from exc
    except (PyPdfError, ValueError, KeyError, TypeError, RecursionError) as exc:
        raise ExtractionError(f"{name}: not a readable PDF ({exc}).") from exc
    if not any(page.strip() for page in pages):
        raise ExtractionError(
            f"{name}: no extractable text (a scanned image, or content pypdf refused to "
            "decompress, such as a decompression bomb)."
        )
    parts = []
    for number, page in enumerate(pages, start=1):
        body = page.strip()
        if body:
            # Page text is plain: escape lines that would otherwise read as Markdown headings or fences.
            body = re.sub(r"^(\s*)([#|`~])", r"\1\\\2", body, flags=re.MULTILINE)
            parts.append(f"## Page {number}\n\n{body}\n")
    return Extracted(str(metadata_title).strip() or _title_from_name(name), "\n".join(parts), markdown=True)
