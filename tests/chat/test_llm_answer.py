"""With a model configured, Gaby's chat answer streams from LLMGateway over the retrieved passages
(real litellm against the scripted OpenAI-compatible server)."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from channels.db import database_sync_to_async
from django.db import connections
from django_tenants.utils import tenant_context

from tenants.models import MonthlyUsage
from tests.chat.conftest import ChatWorld, clear_conversations, events_until, gaby_answer, widget_socket
from tests.llm_server import Reply, ScriptedLLM, Slow

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")  # module scope: committed before the test's transaction, seen by the consumer
def routed_llm(world: Any, django_db_blocker: Any) -> Iterator[ScriptedLLM]:
    from apps.llm.models import LLMCall, LLMProvider, ModelRoute
    from apps.llm.services import save_provider, set_route

    server = ScriptedLLM()
    hartwell = world.clients["hartwell"]
    with django_db_blocker.unblock(), tenant_context(hartwell):
        provider = save_provider(
            client=hartwell,
            name="chat-test",
            kind="openai_compatible",
            api_base=server.base_url,
            credentials={"api_key": "sk-chat"},
        )
        set_route(workflow="reply", provider=provider, model="tiny")
    yield server
    server.close()
    with django_db_blocker.unblock(), tenant_context(hartwell):
        ModelRoute.objects.all().delete()
        LLMCall.objects.all().delete()
        LLMProvider.objects.all().delete()
        MonthlyUsage.objects.filter(client=hartwell).delete()  # the calls' month totals live in the public schema


async def test_the_llm_answer_streams_over_retrieved_passages(
    chat_world: ChatWorld, routed_llm: ScriptedLLM, lexical_only: None, world: Any
) -> None:
    routed_llm.then(Reply("Open the OpenVPN admin portal and choose Reset credentials [1]."))

    def times_cited() -> int:
        from apps.knowledge.models import Document

        with tenant_context(world.clients["hartwell"]):
            return Document.objects.get(title="VPN runbook").cited_count

    cited_before = await database_sync_to_async(times_cited)()
    socket = widget_socket(chat_world.hartwell_key)
    await socket.connect()
    await socket.send_json_to({"type": "hello"})
    await socket.receive_json_from(timeout=30)
    await socket.send_json_to({"type": "message", "text": "How do I reset a user's VPN password?"})
    events = await events_until(socket, gaby_answer, timeout=30)
    tokens = [e["text"] for e in events if e["type"] == "token"]
    answer = events[-1]
    assert tokens[:3] == ["Open ", "the ", "OpenVPN "], "tokens arrive as the model writes them"
    assert answer["body"] == "Open the OpenVPN admin portal and choose Reset credentials [1]."
    assert answer["citations"][0]["document"] == "VPN runbook" and "offer" not in answer
    sent = routed_llm.requests[0]
    assert sent["stream"] is True and sent["model"] == "tiny"
    user_turn = sent["messages"][1]["content"]
    assert '<untrusted source="knowledge">' in user_turn and "Reset credentials" in user_turn
    assert '<untrusted source="chat">' in user_turn
    assert await database_sync_to_async(times_cited)() == cited_before + 1, "the stored answer's citation is counted"
    await socket.disconnect()
    await database_sync_to_async(clear_conversations)(world.clients["hartwell"])
    await database_sync_to_async(connections.close_all)()


async def _first_tokens_of_visitors_asking_at_once(
    chat_world: ChatWorld, llm: ScriptedLLM, sessions: int, model_seconds: float, ip_prefix: str
) -> list[float]:
    """``sessions`` visitors (one address each) ask at once, the model taking ``model_seconds`` to start each
    answer; when each got its first token (every answer is checked to arrive whole; the sockets are closed)."""
    llm.then(*[Slow(model_seconds, Reply(f"Answer number {i}.")) for i in range(sessions)])
    sockets = [widget_socket(chat_world.hartwell_key, ip=f"{ip_prefix}.{i}") for i in range(sessions)]
    for socket in sockets:
        await socket.connect()
        await socket.send_json_to({"type": "hello"})
        assert (await socket.receive_json_from(timeout=30))["type"] == "ready"

    async def ask(socket: Any) -> float:
        await socket.send_json_to({"type": "message", "text": "How do I reset a user's VPN password?"})
        await events_until(socket, lambda e: e.get("type") == "token", timeout=60)
        first_token_at = time.monotonic()
        assert (await events_until(socket, gaby_answer, timeout=60))[-1]["body"].startswith("Answer number")
        return first_token_at

    first_tokens = list(await asyncio.gather(*(ask(socket) for socket in sockets)))
    for socket in sockets:
        await socket.disconnect()
    return first_tokens


async def test_concurrent_sessions_are_answered_at_once_not_one_after_another(
    chat_world: ChatWorld, routed_llm: ScriptedLLM, lexical_only: None, world: Any
) -> None:
    """Eight visitors ask at once and the model takes 3 s to start each answer: the answers are written side by
    side (first tokens within 3 s of each other), not queued on one thread or on asyncio's few default ones."""
    sessions, model_seconds = 8, 3.0
    first_tokens = await _first_tokens_of_visitors_asking_at_once(
        chat_world, routed_llm, sessions, model_seconds, "10.2.0"
    )
    assert max(first_tokens) - min(first_tokens) < model_seconds, "answers were written one after another"
    await database_sync_to_async(clear_conversations)(world.clients["hartwell"])
    await database_sync_to_async(connections.close_all)()


@database_sync_to_async
def streamed_calls(world: Any) -> int:
    from apps.llm.models import CallStatus, LLMCall

    with tenant_context(world.clients["hartwell"]):
        return LLMCall.objects.filter(budget_key__startswith="chat:", status=CallStatus.OK, streamed=True).count()


@pytest.fixture
def two_chat_threads(settings: Any) -> Iterator[None]:
    """The chat's pool shrunk to two threads for one test (its threads' connections closed afterwards)."""
    from apps.chat import workers

    settings.CHAT_THREADS = 2
    saved, workers._pool = workers._pool, None
    yield
    small, workers._pool = workers._pool, saved
    if small is not None:
        barrier = threading.Barrier(2)  # one closing task per thread: each waits for the other

        def close_connections() -> None:
            connections.close_all()
            barrier.wait(timeout=10)

        for done in [small.submit(close_connections) for _ in range(2)]:
            done.result(timeout=30)
        small.shutdown()


async def test_a_waiting_answer_holds_no_thread(
    chat_world: ChatWorld, routed_llm: ScriptedLLM, lexical_only: None, world: Any, two_chat_threads: None
) -> None:
    """Six visitors ask at once on a chat pool of two threads, and the model takes 2 s to start each answer. The
    model is awaited on the event loop, so the six waits overlap; a thread held per waiting answer would have
    written them in three rounds, 2 s apart."""
    sessions, model_seconds = 6, 2.0
    calls_before = await streamed_calls(world)
    first_tokens = await _first_tokens_of_visitors_asking_at_once(
        chat_world, routed_llm, sessions, model_seconds, "10.3.0"
    )
    assert max(first_tokens) - min(first_tokens) < model_seconds, "each waiting answer held one of the two threads"

    assert await streamed_calls(world) - calls_before == sessions, "every answer's model call is recorded"
    await database_sync_to_async(clear_conversations)(world.clients["hartwell"])
    await database_sync_to_async(connections.close_all)()


async def test_a_take_over_stops_the_answer_the_model_is_writing(
    chat_world: ChatWorld, routed_llm: ScriptedLLM, lexical_only: None, world: Any
) -> None:
    """An operator takes over while the model is still writing Gaby's answer: not a word of it reaches the
    visitor, nothing is stored as Gaby's, and the visitor's widget is told the answer was dropped."""
    hartwell, bob = world.clients["hartwell"], world.people["bob"]
    routed_llm.then(Slow(1.5, Reply("An answer nobody should see.")))
    visitor = widget_socket(chat_world.hartwell_key, ip="10.4.0.1")
    await visitor.connect()
    await visitor.send_json_to({"type": "hello"})
    conversation_id = (await visitor.receive_json_from(timeout=30))["conversation"]

    @database_sync_to_async
    def take_over() -> None:
        from apps.chat import services
        from apps.chat.models import Conversation

        with tenant_context(hartwell):
            services.take_over(conversation=Conversation.objects.get(pk=conversation_id), user=bob)

    @database_sync_to_async
    def gaby_messages() -> int:
        from apps.chat.models import ChatMessage, Role

        with tenant_context(hartwell):
            return ChatMessage.objects.filter(conversation_id=conversation_id, role=Role.GABY).count()

    try:
        await visitor.send_json_to({"type": "message", "text": "How do I reset a user's VPN password?"})
        await asyncio.sleep(0.5)  # the model is still thinking
        await take_over()
        events = await events_until(visitor, lambda e: e.get("type") == "stream_cancelled", timeout=30)
        assert {"type": "state", "state": "human", "operator": bob.display_name} in events
        assert not [e for e in events if e["type"] == "token"], "Gaby stopped before writing a word"
        assert await gaby_messages() == 0
    finally:
        await visitor.disconnect()
    await database_sync_to_async(clear_conversations)(hartwell)
    await database_sync_to_async(connections.close_all)()


async def test_a_question_asked_during_an_answer_is_answered_after_it_knowing_it(
    chat_world: ChatWorld, routed_llm: ScriptedLLM, lexical_only: None, world: Any
) -> None:
    """The second question waits for the answer being written on its socket, and its prompt carries that answer."""
    routed_llm.then(Slow(1.0, Reply("First answer.")), Reply("Second answer."))
    asked_before = len(routed_llm.requests)
    socket = widget_socket(chat_world.hartwell_key, ip="10.5.0.1")
    await socket.connect()
    await socket.send_json_to({"type": "hello"})
    await socket.receive_json_from(timeout=30)
    try:
        await socket.send_json_to({"type": "message", "text": "How do I reset a user's VPN password?"})
        await socket.send_json_to({"type": "message", "text": "And for an admin?"})
        first = await events_until(socket, gaby_answer, timeout=30)
        second = await events_until(socket, gaby_answer, timeout=30)
        assert [first[-1]["body"], second[-1]["body"]] == ["First answer.", "Second answer."]
        second_prompt = routed_llm.requests[asked_before + 1]["messages"][1]["content"]
        assert "First answer." in second_prompt and "And for an admin?" in second_prompt
    finally:
        await socket.disconnect()
    await database_sync_to_async(clear_conversations)(world.clients["hartwell"])
    await database_sync_to_async(connections.close_all)()
