"""Token-aware chunking that respects document structure (KB-1, KB-5).

A document is first cut into blocks that must not be torn apart casually (a heading, a paragraph,
a list, a table, a fenced code block), then consecutive blocks of one section are packed into
chunks of at most ``max_tokens`` tokens (counted with the embedding model's own tokenizer). A new
heading always starts a new chunk, so every chunk belongs to exactly one section and keeps its
heading path and 1-based, inclusive line range: a citation can point at the exact place.
A block too big for one chunk is split at its natural seams: table rows (repeating the header),
code lines (re-opening the fence), list items, sentences, and finally words.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from apps.knowledge.tokens import count_tokens

DEFAULT_MAX_TOKENS = 200  # MiniLM reads 256 word pieces; leave room for the heading prefix

_ATX = re.compile(r"^ {0,3}(#{1,6})\s+(.*?)\s*#*\s*$")
_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
_LIST_ITEM = re.compile(r"^\s*(?:[-*+]|\d{1,9}[.)])\s+")
_TABLE_ROW = re.compile(r"^\s*\|")
_SETEXT = re.compile(r"^ {0,3}(=+|-+)\s*$")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")


@dataclass
class Block:
    kind: str  # heading | paragraph | list | table | code
    lines: list[str]
    start: int  # 1-based line number of the first line
    end: int = 0  # 1-based line number of the last line (defaults to start + len(lines) - 1)
    level: int = 0  # heading level
    title: str = ""  # heading text

    def __post_init__(self) -> None:
        if not self.end:
            self.end = self.start + len(self.lines) - 1

    @property
    def text(self) -> str:
        return "\n".join(self.lines)


@dataclass
class ChunkDraft:
    ordinal: int
    heading_path: list[str]
    line_start: int
    line_end: int
    text: str
    token_count: int

    def embedding_input(self, title: str) -> str:
        """What gets embedded and hashed: the section's headings give the passage its context."""
        context = " > ".join([title, *self.heading_path]) if title else " > ".join(self.heading_path)
        return f"{context}\n\n{self.text}" if context else self.text


def parse_blocks(text: str, *, markdown: bool = True) -> list[Block]:
    """Cut ``text`` into structural blocks; ``markdown=False`` treats it as plain paragraphs and lists."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    blocks: list[Block] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        if not line.strip():
            i += 1
            continue
        fence = _FENCE.match(line) if markdown else None
        if fence:
            marker = fence.group(1)
            j = i + 1
            while j < len(lines) and not lines[j].strip().startswith(marker[0] * len(marker)):
                j += 1
            end = min(j, len(lines) - 1)
            blocks.append(Block("code", lines[i : end + 1], i + 1))
            i = end + 1
            continue
        heading = _ATX.match(line) if markdown else None
        if heading:
            blocks.append(Block("heading", [line], i + 1, level=len(heading.group(1)), title=heading.group(2)))
            i += 1
            continue
        if markdown and i + 1 < len(lines) and _SETEXT.match(lines[i + 1]) and not _LIST_ITEM.match(line):
            level = 1 if lines[i + 1].strip().startswith("=") else 2
            blocks.append(Block("heading", lines[i : i + 2], i + 1, level=level, title=line.strip()))
            i += 2
            continue
        if markdown and _TABLE_ROW.match(line):
            j = i
            while j < len(lines) and _TABLE_ROW.match(lines[j]):
                j += 1
            blocks.append(Block("table", lines[i:j], i + 1))
            i = j
            continue
        if _LIST_ITEM.match(line):
            j = i + 1
            while j < len(lines):
                nxt = lines[j]
                if _LIST_ITEM.match(nxt) or (nxt.strip() and nxt[:1] in (" ", "\t")):
                    j += 1
                elif not nxt.strip() and j + 1 < len(lines) and _LIST_ITEM.match(lines[j + 1]):
                    j += 1  # a loose list: a blank line between items stays inside the list
                else:
                    break
            blocks.append(Block("list", lines[i:j], i + 1))
            i = j
            continue
        j = i + 1
        while j < len(lines) and lines[j].strip() and not _starts_block(lines, j, markdown):
            j += 1
        blocks.append(Block("paragraph", lines[i:j], i + 1))
        i = j
    return blocks


def _starts_block(lines: list[str], j: int, markdown: bool) -> bool:
    line = lines[j]
    if _LIST_ITEM.match(line) and not line.startswith((" ", "\t")):
        return True
    if not markdown:
        return False
    if _FENCE.match(line) or _ATX.match(line) or _TABLE_ROW.match(line):
        return True
    return j + 1 < len(lines) and bool(_SETEXT.match(lines[j + 1]))


def _split_oversized(block: Block, max_tokens: int, counter: Callable[[str], int]) -> list[Block]:
    """Cut one block that is bigger than a chunk at its natural seams."""
    if block.kind == "table" and len(block.lines) > 2:
        header = block.lines[:2]
        return _pack_lines(block, header=header, body=(2, len(block.lines)), budget=max_tokens, counter=counter)
    if block.kind == "code" and len(block.lines) > 2:
        opening = block.lines[0]
        fence = _FENCE.match(opening)
        marker = fence.group(1) if fence else "```"
        closed = len(block.lines) > 1 and block.lines[-1].strip().startswith(marker)
        body_end = len(block.lines) - 1 if closed else len(block.lines)
        pieces = _pack_lines(
            block, header=[opening], body=(1, body_end), budget=max_tokens - counter(marker), counter=counter
        )
        for piece in pieces:
            piece.lines.append(marker)  # every piece is a complete fenced block
        if closed:
            pieces[-1].end = block.end
        return pieces
    seam = _LIST_ITEM if block.kind == "list" else None
    if len(block.lines) > 1:
        return _pack_lines(block, header=[], body=(0, len(block.lines)), budget=max_tokens, counter=counter, seam=seam)
    return [Block(block.kind, [part], block.start) for part in _split_words(block.text, max_tokens, counter)]


def _pack_lines(
    block: Block,
    *,
    header: list[str],
    body: tuple[int, int],
    budget: int,
    counter: Callable[[str], int],
    seam: re.Pattern[str] | None = None,
) -> list[Block]:
    """Group ``block.lines[body[0]:body[1]]`` into pieces under ``budget`` tokens, each repeating ``header``.

    With ``seam``, a piece only ends right before a line matching it (a list item) unless one item
    alone is too big. The first piece's line range includes the header; later ones cover their own lines.
    """
    budget = max(8, budget - (counter("\n".join(header)) if header else 0))
    units: list[tuple[int, list[str]]] = []  # (index of the unit's first line in the block, its lines)
    for index in range(*body):
        line = block.lines[index]
        if units and seam is not None and not seam.match(line):
            units[-1][1].append(line)
        else:
            units.append((index, [line]))
    pieces: list[Block] = []
    current: list[str] = []
    first = last = tokens = 0

    def emit() -> None:
        start = block.start if first == body[0] else block.start + first
        pieces.append(Block(block.kind, [*header, *current], start, end=block.start + last))

    for index, unit_lines in units:
        unit_tokens = counter("\n".join(unit_lines))
        if current and tokens + unit_tokens > budget:
            emit()
            current, tokens = [], 0
        if unit_tokens > budget:
            for offset, line in enumerate(unit_lines):
                number = block.start + index + offset
                for part in _split_words(line, budget, counter) if counter(line) > budget else [line]:
                    pieces.append(Block(block.kind, [*header, part], number, end=number))
            continue
        if not current:
            first = index
        current.extend(unit_lines)
        last = index + len(unit_lines) - 1
        tokens += unit_tokens
    if current:
        emit()
    return pieces


def _split_words(text: str, budget: int, counter: Callable[[str], int]) -> list[str]:
    """Sentences, then words: the last resort for one enormous line."""
    parts = _SENTENCE_END.split(text)
    if len(parts) == 1:
        parts = text.split(" ")
    pieces: list[str] = []
    current: list[str] = []
    for part in parts:
        if current and counter(" ".join([*current, part])) > budget:
            pieces.append(" ".join(current))
            current = [part]
        else:
            current.append(part)
    if current:
        pieces.append(" ".join(current))
    return pieces


def chunk_text(
    text: str,
    *,
    markdown: bool = True,
    max_tokens: int = DEFAULT_MAX_TOKENS,
    counter: Callable[[str], int] = count_tokens,
) -> list[ChunkDraft]:
    """Chunks of ``text`` with heading paths and line ranges; see the module docstring."""
    stack: list[tuple[int, str]] = []
    drafts: list[ChunkDraft] = []
    pending: list[Block] = []
    pending_tokens = 0

    def heading_path() -> list[str]:
        return [title for _, title in stack]

    def flush() -> None:
        nonlocal pending, pending_tokens
        if pending:
            body = "\n\n".join(b.text for b in pending)
            drafts.append(
                ChunkDraft(
                    ordinal=len(drafts),
                    heading_path=heading_path(),
                    line_start=pending[0].start,
                    line_end=pending[-1].end,
                    text=body,
                    token_count=counter(body),
                )
            )
        pending, pending_tokens = [], 0

    for block in parse_blocks(text, markdown=markdown):
        if block.kind == "heading":
            flush()
            while stack and stack[-1][0] >= block.level:
                stack.pop()
            stack.append((block.level, block.title))
            continue
        tokens = counter(block.text)
        pieces = [block] if tokens <= max_tokens else _split_oversized(block, max_tokens, counter)
        for piece in pieces:
            piece_tokens = tokens if piece is block else counter(piece.text)
            if pending and pending_tokens + piece_tokens > max_tokens:
                flush()
            pending.append(piece)
            pending_tokens += piece_tokens
    flush()
    return drafts
