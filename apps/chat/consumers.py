"""The chat widget's websocket: public, gated by the widget's key and its Origin allowlist.

The widget's socket, ``/ws/widget/?key=PUBLIC_KEY``, is the one public entry to a client's data: the
Host picks the client (apps/core/channels.py), the key must name an enabled widget in that client's
schema, and the browser's Origin must be on that widget's allowlist. Refusals are sent as an
``error`` event, then the socket is closed with 4404 (unknown key), 4403 (origin or identity) or
4429 (too many connections from one address to this client). A frame that cannot be read (binary,
not JSON, NUL: ``frames``) is answered with an ``error`` event and the socket stays open. The
conversation lives in the database; the browser keeps only a resume secret, so a reload or a
reconnect picks the conversation up where it was, and a socket holds one conversation: a repeated
``hello`` resumes it. The operator console's socket, for members only, is console.py's.
"""

from __future__ import annotations

import asyncio
import threading
import uuid
from typing import Any
from urllib.parse import parse_qs

from channels.consumer import get_handler_name
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.conf import settings

from apps.chat import answering, frames, limits, live, services
from apps.chat.models import ChatMessage, Conversation, ConversationState, Widget
from apps.chat.widgets import origin_allowed, public_config, verify_identity, widget_for_key
from apps.chat.workers import TokenRelay, in_tenant_pool, tenant_runner
from apps.core.channels import CLOSE_FORBIDDEN, CLOSE_UNKNOWN_HOST

CLOSE_RATE_LIMITED = 4429


def _header(scope: dict[str, Any], name: bytes) -> str:
    for key, value in scope.get("headers", []):
        if key == name:
            return str(value.decode("latin-1"))
    return ""


def client_ip(scope: dict[str, Any]) -> str:
    if settings.BEHIND_PROXY:
        forwarded = _header(scope, b"x-forwarded-for").split(",")[0].strip()
        if forwarded:
            return forwarded
    client = scope.get("client") or ("unknown", 0)
    return str(client[0])


class WidgetConsumer(AsyncJsonWebsocketConsumer):
    widget: Widget | None = None
    conversation_id: uuid.UUID | None = None
    resume_token = ""  # the secret of this socket's conversation, given again to a repeated hello
    group: str | None = None

    async def connect(self) -> None:
        await self.accept()  # accepted first, so a refusal reaches the widget with its reason
        self.ip = client_ip(self.scope)
        self.origin = _header(self.scope, b"origin")
        self.stop_answer = threading.Event()
        self.answer_lock = asyncio.Lock()
        self.tasks: set[asyncio.Task[None]] = set()
        self.own_streams: set[str] = set()  # answers this socket gets token by token straight from the writer
        self.own_messages: set[str] = set()  # the visitor's messages this socket already echoed itself
        key = parse_qs(self.scope.get("query_string", b"").decode()).get("key", [""])[0]
        refusal = await self._open(key)
        if refusal is not None:
            code, text = refusal
            await self.send_json({"type": "error", "error": text})
            await self.close(code=code)

    @in_tenant_pool
    def _open(self, key: str) -> tuple[int, str] | None:
        # Per client and address: a visitor who opens many sockets to one client never locks out another's.
        if not limits.allow("connect", self._bucket, limit=settings.CHAT_IP_CONNECTIONS_PER_MINUTE):
            return CLOSE_RATE_LIMITED, "Too many connections from your address; try again in a minute."
        widget = widget_for_key(key)
        if widget is None:
            return CLOSE_UNKNOWN_HOST, "This chat widget key is not known here."
        if not origin_allowed(widget, self.origin):
            return CLOSE_FORBIDDEN, f"This chat is not enabled on {self.origin or 'this page'}."
        self.widget = widget
        return None

    async def dispatch(self, message: dict[str, Any]) -> None:
        """Each event straight to its handler. Channels first closes stale database connections of its one
        thread for synchronous code, for every event (each question, each batch of a shadowed answer): this
        consumer never uses that thread (its database work runs on the chat's pool, which checks its own
        connections), so under load every event queued on that one thread for nothing."""
        handler = getattr(self, get_handler_name(message), None)
        if handler is None:
            raise ValueError(f"No handler for message type {message['type']}")
        await handler(message)

    async def disconnect(self, code: int) -> None:
        if self.group:
            await self.channel_layer.group_discard(self.group, self.channel_name)

    @property
    def _bucket(self) -> str:
        return f"{self.scope['schema_name']}:{self.ip}"

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None, **kwargs: Any) -> None:
        if self.widget is None:
            return
        content = await frames.read_frame(self, text_data, bytes_data)
        if content is not None:
            await self.receive_json(content)

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        kind = content.get("type") if isinstance(content, dict) else None
        if kind == "hello":
            await self._hello(str(content.get("resume") or ""), content.get("identity"))
        elif self.conversation_id is None:
            await self.send_json({"type": "error", "error": "Say hello first."})
        elif kind == "message":
            await self._message(str(content.get("text") or ""))
        elif kind == "handoff":
            await self._run(self._handoff, "asked")
        elif kind == "ticket":
            await self._run(self._ticket, str(content.get("email") or ""), str(content.get("name") or ""))
        elif kind == "end":
            await self._run(self._end)
        elif kind == "rate":
            rating = content.get("rating")
            await self._run(self._rate, rating if isinstance(rating, int) else 0, str(content.get("comment") or ""))
        elif kind == "ping":
            await self.send_json({"type": "pong"})
        else:
            await self.send_json({"type": "error", "error": f"Unknown event {kind!r}."})

    # --- hello: start or resume ---------------------------------------------------------------
    async def _hello(self, resume: str, identity_token: Any) -> None:
        ready = await self._start(resume, identity_token if isinstance(identity_token, str) else None)
        if ready is None:
            await self.send_json({"type": "error", "error": "The visitor's identity could not be verified."})
            await self.close(code=CLOSE_FORBIDDEN)
            return
        if self.group:
            await self.channel_layer.group_discard(self.group, self.channel_name)
        self.group = live.conversation_group(self.scope["schema_name"], ready["conversation"])
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.send_json(ready)

    @in_tenant_pool
    def _start(self, resume: str, identity_token: str | None) -> dict[str, Any] | None:
        assert self.widget is not None
        if self.conversation_id is not None:  # one conversation per socket: hello again resumes it
            conversation = Conversation.objects.filter(pk=str(self.conversation_id)).first()
            if conversation is not None:
                return self._ready(conversation, self.resume_token, resumed=True)
        identity = verify_identity(client=self.scope["tenant"], widget=self.widget, token=identity_token)
        if identity is None:
            return None
        conversation = services.resume_conversation(widget=self.widget, token=resume, identity=identity)
        resumed = conversation is not None
        if conversation is None:
            conversation, resume = services.start_conversation(
                widget=self.widget, identity=identity, origin=self.origin
            )
        self.conversation_id, self.resume_token = conversation.pk, resume
        return self._ready(conversation, resume, resumed=resumed)

    def _ready(self, conversation: Conversation, resume: str, *, resumed: bool) -> dict[str, Any]:
        assert self.widget is not None
        return {
            "type": "ready",
            "conversation": str(conversation.pk),
            "resume": resume,
            "resumed": resumed,
            "state": conversation.state,
            "config": public_config(self.widget),
            "messages": services.history(conversation),
        }

    # --- a visitor's message, and Gaby's answer -------------------------------------------------
    async def _message(self, text: str) -> None:
        prepare_now = not self.tasks  # nothing being answered here: prepare the answer in the message's stretch
        if prepare_now:
            self.stop_answer.clear()
        outcome = await self._post(text, prepare_now)
        if isinstance(outcome, str):
            await self.send_json({"type": "error", "error": outcome})
        elif outcome is not None:
            # The visitor sees their own message before the first word of the answer: sent straight from here,
            # since the channel layer's copy can arrive after the tokens this socket writes itself.
            self.own_messages.add(str(outcome[0].pk))
            await self.send_json(live.message_payload(outcome[0]))
            task = asyncio.create_task(self._answer(*outcome))
            self.tasks.add(task)  # keep a reference until it finishes
            task.add_done_callback(self.tasks.discard)

    @in_tenant_pool
    def _post(self, text: str, prepare_now: bool) -> str | tuple[ChatMessage, answering.Draft | None] | None:
        """An error for the visitor, or what Gaby should answer (None: nothing for Gaby to do), with the answer's
        draft when ``prepare_now``: one trip to a thread before the model is asked, not three."""
        in_session, from_ip = limits.count(("session", str(self.conversation_id)), ("ip", self._bucket))
        if in_session > settings.CHAT_SESSION_MESSAGES_PER_MINUTE:
            return "You're sending messages too quickly; wait a moment."
        if from_ip > settings.CHAT_IP_MESSAGES_PER_MINUTE:
            return "Too many messages from your address; wait a moment."
        conversation = Conversation.objects.select_related("widget").get(pk=str(self.conversation_id))
        try:
            message = services.post_visitor_message(conversation=conversation, body=text)
        except services.ChatError as exc:
            return str(exc)
        if conversation.state != ConversationState.BOT:
            return None  # a person has it (or is coming): Gaby stays quiet
        if services.asks_for_person(message.body):
            services.request_handoff(client=self.scope["tenant"], conversation=conversation, reason="asked")
            return None
        return message, self._prepare(conversation, message) if prepare_now else None

    def _prepare(self, conversation: Conversation, question: ChatMessage) -> answering.Draft:
        # Everything said before and since (an answer stored after the question was asked included), but the question.
        earlier = ChatMessage.objects.filter(conversation=conversation).exclude(pk=question.pk).order_by("-created_at")
        history = [(m.author_label or m.role, m.body) for m in reversed(earlier[:10])]
        return answering.prepare(
            client=self.scope["tenant"],
            conversation_id=str(conversation.pk),
            question=question.body,
            history=history,
            persona=conversation.persona_name,
        )

    @in_tenant_pool
    def _draft_later(self, question: ChatMessage) -> answering.Draft | None:
        """The draft of an answer that waited for the one before it (None: a person has the conversation now)."""
        conversation = services.conversation_for_gaby(question.conversation_id)
        return self._prepare(conversation, question) if conversation is not None else None

    async def _answer(self, question: ChatMessage, draft: answering.Draft | None) -> None:
        async with self.answer_lock:  # one answer at a time per socket, in the order asked
            if draft is None:
                self.stop_answer.clear()
                draft = await self._draft_later(question)
            if draft is not None:
                await self._write_answer(question.conversation_id, draft)

    async def _write_answer(self, conversation_id: uuid.UUID, draft: answering.Draft) -> None:
        """Gaby's answer, written on this event loop: the model's stream is read here and each piece goes
        straight to this socket; the database stretches after it go to the chat's threads."""
        schema, stream = self.scope["schema_name"], str(uuid.uuid4())
        stop = self.stop_answer
        relay = TokenRelay(self.send_json, conversation_id=conversation_id, schema=schema, stream=stream)
        self.own_streams.add(stream)

        async def on_token(piece: str) -> None:
            if stop.is_set():
                raise answering.Stopped
            await relay(piece)

        try:
            result: answering.Answer | None = await answering.write(
                draft, on_token=on_token, run_sync=tenant_runner(self.scope["tenant"])
            )
        except answering.Stopped:
            result = None
        relay.flush()
        if not await self._store_answer(conversation_id, result, stream):
            live.send(conversation_id, {"type": "stream_cancelled", "stream": stream}, schema=schema)

    @in_tenant_pool
    def _store_answer(self, conversation_id: uuid.UUID, result: answering.Answer | None, stream: str) -> bool:
        """Store the written answer, unless it was stopped or a person took the conversation meanwhile."""
        conversation = services.conversation_for_gaby(conversation_id) if result is not None else None
        if result is None or conversation is None:
            return False
        services.post_gaby_message(
            conversation=conversation,
            body=result.text,
            citations=result.citations,
            confidence=result.confidence,
            mode=result.mode,
            stream=stream,
            offer="" if result.confident else "human",
        )
        answering.count_citations(result)
        return True

    # --- handoff, ticket, end, rating ----------------------------------------------------------
    async def _run(self, action: Any, *args: Any) -> None:
        error = await action(*args)
        if error:
            await self.send_json({"type": "error", "error": error})

    def _conversation(self) -> Conversation:
        return Conversation.objects.select_related("widget").get(pk=str(self.conversation_id))

    @in_tenant_pool
    def _handoff(self, reason: str) -> str | None:
        services.request_handoff(client=self.scope["tenant"], conversation=self._conversation(), reason=reason)
        return None

    @in_tenant_pool
    def _ticket(self, email: str, name: str) -> str | None:
        try:
            services.create_ticket(conversation=self._conversation(), email=email, name=name)
        except services.ChatError as exc:
            return str(exc)
        return None

    @in_tenant_pool
    def _end(self) -> str | None:
        services.close(conversation=self._conversation())
        return None

    @in_tenant_pool
    def _rate(self, rating: int, comment: str) -> str | None:
        try:
            services.rate(conversation=self._conversation(), rating=rating, comment=comment)
        except services.ChatError as exc:
            return str(exc)
        return None

    async def chat_event(self, event: dict[str, Any]) -> None:
        payload = event["payload"]
        kind, stream = payload.get("type"), payload.get("stream")
        if kind == "state" and payload.get("state") != ConversationState.BOT:
            self.stop_answer.set()  # a person has the conversation: Gaby stops mid-sentence
        if kind == "message" and payload.get("id") in self.own_messages:
            self.own_messages.discard(payload["id"])
            return  # already shown, straight from _message
        if stream in self.own_streams:
            if kind == "token":
                return  # this socket already has these pieces, straight from the writer
            if kind in ("message", "stream_cancelled"):
                self.own_streams.discard(stream)
        await self.send_json(payload)
