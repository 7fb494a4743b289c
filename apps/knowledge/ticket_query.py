"""A whole ticket as a search query: its passages for the vector side, its salient terms for full text.

A ticket is a paragraph or ten: the customer's situation, what they tried, what they want, the question buried
somewhere inside. One embedding of the whole text mostly reads its first 256 word pieces (the model's window), and
a full-text query of every word matches everything. So a long query is read two ways:

- ``windows``: the text cut at sentence ends into passages of about ``WINDOW_WORDS`` words, each embedded on its
  own; a chunk is as close to the ticket as it is to its closest passage, so the one sentence that names the
  problem is not averaged away by the story around it.
- the salient terms (apps/knowledge/retrievers.py ``salient``): the ticket's words weighed by how rare they are
  in this client's knowledge (inverse document frequency), the rarest few queried and summed per chunk.

Short queries (a search box, a question sentence) are one window and keep the plain tiers.
"""

from __future__ import annotations

import re

WINDOW_WORDS = 40  # about two sentences; MiniLM reads them whole (256 word pieces)
MAX_WINDOWS = 16  # a 600-word ticket; beyond that, the rest of the text adds little and costs an embedding each
_SENTENCE_END = re.compile(r"(?<=[.!?;:])\s+|\n+")


def word_count(text: str) -> int:
    return len(text.split())


def is_long(text: str) -> bool:
    """More than one passage: read as a ticket, not as a search box query."""
    return word_count(text) > WINDOW_WORDS


def windows(text: str) -> list[str]:
    """Consecutive passages of whole sentences, each at most ``WINDOW_WORDS`` words (a longer sentence is cut),
    at most ``MAX_WINDOWS`` of them, in the ticket's order."""
    passages: list[str] = []
    current: list[str] = []
    for sentence in _SENTENCE_END.split(text):
        words = sentence.split()
        while words:
            room = WINDOW_WORDS - len(current)
            if len(words) > room and current:
                passages.append(" ".join(current))
                current = []
                continue
            current.extend(words[:WINDOW_WORDS])
            words = words[WINDOW_WORDS:]
        if len(current) >= WINDOW_WORDS // 2:
            passages.append(" ".join(current))
            current = []
    if current:
        if passages and len(current) < WINDOW_WORDS // 4:
            passages[-1] = f"{passages[-1]} {' '.join(current)}"  # a stray closing line joins the passage before
        else:
            passages.append(" ".join(current))
    return passages[:MAX_WINDOWS]
