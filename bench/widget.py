"""Chat widget under load: N concurrent widget sessions, each asks one question answered by a scripted LLM.

Figures, all from the same run on this machine:
- floor 1, a bare Channels echo consumer under uvicorn: round trip of one frame per session;
- floor 2, the scripted model alone: time to its first streamed token when N requests stream at once;
- Gaby: connect + hello (conversation created), then question → first token and → final stored answer,
  through the whole path (key + Origin gate, rate limits, retrieval, LLMGateway streaming with redaction,
  budget and call record, the channel layer to the socket).

    .venv/bin/python bench/widget.py [--sessions 1000]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench._server import free_port, start_uvicorn, summary, wait_http

ORIGIN = "http://bench.example"
ANSWER = "Open the OpenVPN admin portal, find the user and choose Reset credentials."


def _prepare(llm_url: str) -> str:
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate_schemas", interactive=False, verbosity=0)
    from django_tenants.utils import tenant_context

    from apps.agent.models import LLMProvider
    from apps.agent.services import save_provider, set_route
    from apps.chat.models import Widget
    from apps.chat.widgets import create_widget
    from tenants.demo import seed_demo

    clients, _, _ = seed_demo()
    hartwell = clients["hartwell"]
    with tenant_context(hartwell):
        existing = LLMProvider.objects.filter(name="bench-scripted").first()  # a previous run's, pointed anew
        provider = save_provider(client=hartwell, name="bench-scripted", kind="openai_compatible", api_base=llm_url,
                                 credentials={"api_key": "sk-bench"}, provider=existing)  # fmt: skip
        set_route(workflow="reply", provider=provider, model="bench")
        widget = Widget.objects.filter(name="Bench").first() or create_widget(
            client=hartwell, changes={"name": "Bench", "allowed_origins": [ORIGIN]}
        )
        return widget.public_key


async def _echo_session(port: int) -> float:
    import websockets

    async with websockets.connect(f"ws://127.0.0.1:{port}/echo/", open_timeout=120) as ws:
        started = time.perf_counter()
        await ws.send("ping")
        await ws.recv()
        return (time.perf_counter() - started) * 1000


async def _model_first_token(url: str) -> float:
    def call() -> float:
        body = json.dumps({"model": "bench", "stream": True, "messages": [{"role": "user", "content": "hi"}]})
        request = urllib.request.Request(url + "/chat/completions", body.encode(), {"Content-Type": "application/json"})
        started = time.perf_counter()
        with urllib.request.urlopen(request, timeout=120) as response:
            response.readline()
            elapsed = (time.perf_counter() - started) * 1000
            response.read()
        return elapsed

    return await asyncio.to_thread(call)


async def _widget_session(port: int, key: str) -> dict[str, float]:
    import websockets

    # The URL names the client's host (Host header); the TCP connection goes to 127.0.0.1.
    async with websockets.connect(f"ws://hartwell.localhost:{port}/ws/widget/?key={key}", host="127.0.0.1",
                                  port=port, origin=ORIGIN, open_timeout=120, max_size=2**20) as ws:  # fmt: skip
        started = time.perf_counter()
        await ws.send(json.dumps({"type": "hello"}))
        ready = json.loads(await ws.recv())
        if ready.get("type") != "ready":
            raise RuntimeError(f"refused: {ready}")
        hello = (time.perf_counter() - started) * 1000
        started = time.perf_counter()
        await ws.send(json.dumps({"type": "message", "text": "How do I reset a user's VPN password?"}))
        first = 0.0
        while True:
            event = json.loads(await asyncio.wait_for(ws.recv(), timeout=300))
            if event["type"] == "token" and not first:
                first = (time.perf_counter() - started) * 1000
            if event["type"] == "message" and event["role"] == "gaby":
                if event["body"] != ANSWER:
                    raise RuntimeError(f"unexpected answer {event['body']!r}")
                return {"hello": hello, "first": first, "done": (time.perf_counter() - started) * 1000}
            if event["type"] == "error":
                raise RuntimeError(event["error"])


async def _gather(factory: Any, n: int) -> tuple[list[Any], int]:
    results = await asyncio.gather(*(factory() for _ in range(n)), return_exceptions=True)
    ok = [r for r in results if not isinstance(r, BaseException)]
    for failure in [r for r in results if isinstance(r, BaseException)][:3]:
        print(f"    failure: {failure!r}")
    return ok, n - len(ok)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sessions", type=int, default=1000)
    args = parser.parse_args()
    os.environ.setdefault("GABY_ENV", "development")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "gaby_site.settings")
    from tests.llm_server import Reply, ScriptedLLM

    llm = ScriptedLLM().then(*[Reply(ANSWER) for _ in range(args.sessions * 2 + 10)])
    llm._server.request_queue_size = 2048  # type: ignore[attr-defined]
    key = _prepare(llm.base_url)
    from django.conf import settings

    from gaby_site.env import database_url

    db = settings.DATABASES["default"]
    env = dict(os.environ, GABY_LOG_LEVEL="warning", GABY_CHAT_IP_CONNECTIONS_PER_MINUTE="1000000",
               GABY_CHAT_IP_MESSAGES_PER_MINUTE="1000000", GABY_KB_EMBEDDINGS="none",
               DATABASE_URL=database_url(db),
               REDIS_URL=settings.REDIS_URL)  # fmt: skip
    echo_port, gaby_port = free_port(), free_port()
    echo = start_uvicorn("bench.echo_asgi:application", echo_port, env)
    gaby = start_uvicorn("gaby_site.asgi:application", gaby_port, dict(env, GABY_PORT=str(gaby_port)))
    try:
        wait_http(f"http://127.0.0.1:{gaby_port}/health")
        time.sleep(2)  # the echo server has no HTTP route to poll
        n = args.sessions
        print(f"{n} concurrent sessions; uvicorn (one process each), embedded PostgreSQL/Redis, scripted LLM")
        asyncio.run(_gather(lambda: _echo_session(echo_port), 10))
        echo_ms, echo_failed = asyncio.run(_gather(lambda: _echo_session(echo_port), n))
        print(f"  floor: bare Channels echo round trip      {summary(echo_ms)}  failed {echo_failed}")
        model_ms, model_failed = asyncio.run(_gather(lambda: _model_first_token(llm.base_url), n))
        print(f"  floor: scripted model's own first token   {summary(model_ms)}  failed {model_failed}")
        asyncio.run(_gather(lambda: _widget_session(gaby_port, key), 5))  # warm-up
        sessions, failed = asyncio.run(_gather(lambda: _widget_session(gaby_port, key), n))
        print(f"  Gaby: hello → conversation ready         {summary([s['hello'] for s in sessions])}")
        print(f"  Gaby: question → first token             {summary([s['first'] for s in sessions])}")
        print(f"  Gaby: question → final answer stored     {summary([s['done'] for s in sessions])}")
        print(f"  sessions completed {len(sessions)}/{n}, dropped {failed}")
    finally:
        for server in (echo, gaby):
            server.terminate()
            try:
                server.wait(timeout=30)  # open sockets take a while to drain
            except subprocess.TimeoutExpired:
                server.kill()
        llm.close()


if __name__ == "__main__":
    main()
