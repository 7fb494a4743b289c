"""The one seam between a chat conversation and whatever writes Gaby's answer.

An answer is written in two parts. ``prepare`` runs synchronously inside the client's schema (in the
caller's database stretch): retrieval, and the model call's steps up to sending. ``write`` runs on the
server's event loop and awaits ``on_token`` for each piece of text as it is written, so the widget and
every operator shadowing the conversation see it appear; its later database work (the model call's record)
goes through ``run_sync``, and waiting for the model holds no thread. The passages an answer cited are counted
by ``count_citations`` in the stretch that stores the answer (one trip to a thread fewer per answer).
With no model configured it answers from the knowledge base: the best passage, cited, when the
retrieval is confident enough (``CHAT_MIN_CONFIDENCE``), else it says so and offers a person. With
a model, the ``reply`` route writes the answer over the retrieved passages through ``LLMGateway``
(``streaming``: redacted, budgeted, recorded). The investigation engine can replace these functions later
without the consumer changing.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings

from apps.agent.prompts import load_prompt
from apps.knowledge.retrieval import Hit, QueryError, record_citations, search
from apps.llm.budget import Budget, LLMError, Untrusted
from apps.llm.gateway import LLMGateway
from apps.llm.streaming import Streaming
from tenants.models import Client

PASSAGES = 4
MAX_PASSAGE_CHARS = 900
CHAT_BUDGET_TOKENS = 50_000  # per conversation: a runaway chat cannot spend without end


class Stopped(Exception):
    """The answer was abandoned mid-stream (an operator took over)."""


@dataclass
class Answer:
    text: str
    citations: list[dict[str, Any]] = field(default_factory=list)
    confidence: float = 0.0
    confident: bool = False
    mode: str = "knowledge"  # knowledge | llm
    cited_documents: list[Any] = field(default_factory=list)  # ids; counted (record_citations) when it is stored


def confidence_of(hit: Hit) -> float:
    """How sure retrieval is that ``hit`` answers the question, 0-1.

    Full-text: a passage matching every word of the question scores at least 1 (see retrieval's
    strict query); one matching some words scores its rank below that. Semantic: cosine similarity.
    """
    lexical = min(1.0, hit.explanation.lexical_score or 0.0)
    semantic = hit.explanation.semantic_similarity or 0.0
    return round(max(lexical, semantic), 3)


def _citation(n: int, hit: Hit) -> dict[str, Any]:
    citation = hit.citation
    return {"n": n, "label": citation.label, "url": citation.source_url, "document": citation.document_title}


def _trim(text: str) -> str:
    text = text.strip()
    return text if len(text) <= MAX_PASSAGE_CHARS else text[:MAX_PASSAGE_CHARS].rsplit(" ", 1)[0] + " …"


OnToken = Callable[[str], Awaitable[None]]
RunSync = Callable[[Callable[[], Any]], Awaitable[Any]]


async def _stream(text: str, on_token: OnToken) -> None:
    words = text.split(" ")
    for i, word in enumerate(words):
        await on_token(word + (" " if i < len(words) - 1 else ""))


async def _knowledge_answer(hits: list[Hit], confidence: float, on_token: OnToken) -> Answer:
    if not hits or confidence < settings.CHAT_MIN_CONFIDENCE:
        text = "I couldn't find a confident answer to that in our knowledge base. Would you like to talk to a person?"
        await _stream(text, on_token)
        return Answer(text=text, confidence=confidence, confident=False)
    best = hits[0]
    text = f"Here's what I found in {best.citation.document_title} [1]:\n\n{_trim(best.text)}"
    await _stream(text, on_token)
    return Answer(
        text=text,
        citations=[_citation(1, best)],
        confidence=confidence,
        confident=True,
        cited_documents=[best.citation.document_id],
    )


@dataclass
class Draft:
    """What an answer stands on, gathered in one database stretch: the passages, how sure retrieval is, and
    the model call with its steps done up to sending (None: answer from the knowledge base)."""

    hits: list[Hit]
    confidence: float
    model: Streaming | None


def prepare(
    *, client: Client, conversation_id: str, question: str, history: list[tuple[str, str]], persona: str
) -> Draft:
    """Synchronous, in the client's schema: retrieval, and the model call's route, redaction and budget check."""
    try:
        hits = search(question, limit=PASSAGES).hits
    except QueryError:
        hits = []
    confidence = confidence_of(hits[0]) if hits else 0.0
    passages = "\n\n".join(f"[{n}] {hit.citation.label}\n{_trim(hit.text)}" for n, hit in enumerate(hits, start=1))
    dialogue = "\n".join(f"{who}: {text}" for who, text in history[-10:])
    model = LLMGateway(client).streaming(
        workflow="reply",
        prompt=load_prompt("reply"),
        variables={"client_name": client.name, "tone": f"friendly, concise; you are called {persona}"},
        untrusted=[Untrusted("knowledge", passages or "(no passages found)"), Untrusted("chat", dialogue)],
        instruction=f"Answer the visitor's last message: {question!r}. Cite passages as [n].",
        budget=Budget(f"chat:{conversation_id}", max_tokens=CHAT_BUDGET_TOKENS),
    )
    try:
        model.start()
    except LLMError:  # no model configured, none allowed, or the budget is spent: the knowledge base answers
        return Draft(hits, confidence, None)
    return Draft(hits, confidence, model)


async def write(draft: Draft, *, on_token: OnToken, run_sync: RunSync) -> Answer:
    """Gaby's answer, written on the event loop from a ``prepare``d draft."""
    hits, confidence = draft.hits, draft.confidence
    if draft.model is None:
        return await _knowledge_answer(hits, confidence, on_token)
    try:
        result = await draft.model.finish(run_sync=run_sync, on_token=on_token)
    except LLMError:  # every model failed: the knowledge base still answers
        return await _knowledge_answer(hits, confidence, on_token)
    text = result.restored()
    cited = [n for n in range(1, len(hits) + 1) if f"[{n}]" in text]
    return Answer(
        text=text,
        citations=[_citation(n, hits[n - 1]) for n in cited],
        confidence=confidence,
        confident=bool(hits) and confidence >= settings.CHAT_MIN_CONFIDENCE,
        mode="llm",
        cited_documents=[hits[n - 1].citation.document_id for n in cited],
    )


def count_citations(answer: Answer) -> None:
    """Synchronous, in the client's schema, with the stored answer: its passages were cited once more (KB-6)."""
    if answer.cited_documents:
        record_citations(document_ids=answer.cited_documents)
