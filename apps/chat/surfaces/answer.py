"""Gaby's answer in a Slack/Teams thread: the widget's ``answering.prepare``/``write``, posted through the surface.

Run by the ``chat.answer_surface`` task, inside the client's schema. The delivery is claimed with a conditional
UPDATE (queued → answering), so a retried or duplicated task never answers twice. The answer's text is posted as
soon as its first words exist and edited as more arrive, at most every ``EDIT_INTERVAL`` seconds (Slack's
``chat.update`` is rate-limited); the final edit carries the citations. An answer retrieval is not sure of hands the
conversation to a person (``services.request_handoff``) instead of guessing.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from asgiref.sync import async_to_sync, sync_to_async
from django.utils import timezone

from apps.chat import answering, services
from apps.chat.models import ChatMessage, DeliveryState, SurfaceDelivery
from apps.chat.surfaces.base import Outbound, outbound_for
from apps.chat.surfaces.routing import current_client

EDIT_INTERVAL = 1.0  # seconds between two edits of a reply being written


class ThreadWriter:
    """``on_token`` for one answer: the first piece is posted, later ones edit that post at most every interval."""

    def __init__(self, outbound: Outbound, conversation: Any, *, interval: float = EDIT_INTERVAL) -> None:
        self.outbound, self.conversation, self.interval = outbound, conversation, interval
        self.text = ""
        self.ref = ""
        self.shown = ""
        self.edited_at = 0.0

    async def __call__(self, piece: str) -> None:
        self.text += piece
        if not self.ref:
            self.ref = await asyncio.to_thread(self.outbound.post, self.conversation, self.text)
            self.shown, self.edited_at = self.text, time.monotonic()
        elif time.monotonic() - self.edited_at >= self.interval:
            await asyncio.to_thread(self.outbound.update, self.conversation, self.ref, self.text)
            self.shown, self.edited_at = self.text, time.monotonic()

    def finish(self, text: str, citations: list[dict[str, Any]]) -> str:
        """The final text with its citations: one last edit (or the only post of an answer with no pieces)."""
        if not self.ref:
            self.ref = self.outbound.post(self.conversation, text, citations=citations)
        else:
            self.outbound.update(self.conversation, self.ref, text, citations=citations)
        return self.ref


def claim(delivery_id: str) -> bool:
    return (
        SurfaceDelivery.objects.filter(pk=delivery_id, state=DeliveryState.QUEUED).update(state=DeliveryState.ANSWERING)
        == 1
    )


def release(delivery_id: str) -> None:
    """A transient failure before anything was posted: the delivery goes back to the queue for the retry."""
    SurfaceDelivery.objects.filter(pk=delivery_id, state=DeliveryState.ANSWERING).update(state=DeliveryState.QUEUED)


def _finish(delivery_id: str, state: str) -> None:
    SurfaceDelivery.objects.filter(pk=delivery_id).update(state=state, answered_at=timezone.now())


def answer(delivery_id: str) -> str:
    """Answer one claimed delivery; returns what happened (for logs and tests)."""
    if not claim(delivery_id):
        return "not-queued"
    delivery = SurfaceDelivery.objects.select_related("message").filter(pk=delivery_id).first()
    conversation = (
        services.conversation_for_gaby(delivery.conversation_id) if delivery and delivery.conversation_id else None
    )
    if delivery is None or delivery.message is None or conversation is None:
        _finish(delivery_id, DeliveryState.SKIPPED)
        return "skipped"  # a person took the conversation meanwhile
    question = delivery.message
    client = current_client()
    earlier = ChatMessage.objects.filter(conversation=conversation).exclude(pk=question.pk).order_by("-created_at")
    history = [(m.author_label or m.role, m.body) for m in reversed(earlier[:10])]
    draft = answering.prepare(
        client=client,
        conversation_id=str(conversation.pk),
        question=question.body,
        history=history,
        persona=conversation.persona_name,
    )
    writer = ThreadWriter(outbound_for(conversation.install), conversation)

    async def run_sync(func: Any) -> Any:
        return await sync_to_async(func)()  # back on this task's thread, in the client's schema

    async def write() -> answering.Answer:
        return await answering.write(draft, on_token=writer, run_sync=run_sync)

    try:
        result = async_to_sync(write)()
    except Exception:
        if not writer.ref:
            release(delivery_id)  # nothing reached the thread: the task's retry answers afresh
        raise
    if not result.confident:
        writer.finish(result.text.split("Would you like")[0].strip() or result.text, [])
        stored = services.post_gaby_message(
            conversation=conversation, body=result.text, confidence=result.confidence, mode=result.mode
        )
        ChatMessage.objects.filter(pk=stored.pk).update(external_ref=writer.ref)
        services.request_handoff(client=client, conversation=conversation, reason="unresolved")
        _finish(delivery_id, DeliveryState.DONE)
        return "handed-off"
    ref = writer.finish(result.text, result.citations)
    stored = services.post_gaby_message(
        conversation=conversation,
        body=result.text,
        citations=result.citations,
        confidence=result.confidence,
        mode=result.mode,
    )
    ChatMessage.objects.filter(pk=stored.pk).update(external_ref=ref)
    answering.count_citations(result)
    _finish(delivery_id, DeliveryState.DONE)
    return "answered"
