"""Chat widget under load: N widget sessions open at once, each asking one question, beside floors from the same run.

Load model: the N sessions connect over ``--ramp`` seconds and all stay open until every one has been answered;
each asks its question at a random moment of the following ``--window`` seconds (people chat at their own pace;
1,000 sessions asking within 30 s is ~33 questions a second). A session is *dropped* when it fails to connect,
is refused, gets no answer, or its socket is no longer alive once everyone has been answered.

Servers, as ``./gaby run`` runs them: Gaby is ``python -m gaby_site.serve`` (``--web-workers`` uvicorn
processes, two per core by default, as GABY_WEB_WORKERS sets them; embedded PostgreSQL and Redis); the echo
floor is a bare Channels consumer under uvicorn; the model is
bench/stream_llm.py, an OpenAI-compatible stream whose first token comes ``--first-token-ms`` after the request.

Rows:
- floor: the echo consumer's frame round trip, same sessions, same schedule;
- floor: the scripted model alone, time to its first token at the same concurrency;
- Gaby with the model (the ``reply`` route): hello → conversation ready, ping → pong, question → first token,
  question → answer stored, and Gaby's addition to the model's own first token (p50 and p95 differences);
- Gaby in knowledge-only mode (no model configured): question → first token and → answer stored.

Rate limits stay on: the Gaby process gets the documented per-IP allowances (``GABY_CHAT_IP_*``) raised for this
one address, since every simulated visitor comes from 127.0.0.1. The soft open-files limit is raised to the
hard one for the servers and the client (each session is two sockets). Server logs: var/bench-widget-*.log.

    .venv/bin/python bench/widget.py [--sessions 1000] [--ramp 10] [--window 30] [--first-token-ms 300]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench._server import ROOT, free_port, setup_django, summary, wait_http

ORIGIN = "http://bench.example"
QUESTION = "How do I reset a user's VPN password?"
ANSWER = "Open the OpenVPN admin portal, find the user and choose Reset credentials."
ANSWER_TIMEOUT = 120.0


def _prepare(llm_url: str) -> str:
    setup_django()
    from django_tenants.utils import tenant_context

    from apps.chat.models import Widget
    from apps.chat.widgets import create_widget
    from apps.llm.models import LLMProvider
    from apps.llm.services import save_provider, set_route
    from tenants.demo import seed_demo

    clients, _, _ = seed_demo()
    hartwell = clients["hartwell"]
    with tenant_context(hartwell):
        existing = LLMProvider.objects.filter(name="bench-scripted").first()  # a previous run's, pointed anew
        provider = save_provider(
            client=hartwell,
            name="bench-scripted",
            kind="openai_compatible",
            api_base=llm_url,
            credentials={"api_key": "sk-bench"},
            provider=existing,
        )
        LLMProvider.objects.filter(pk=provider.pk).update(enabled=True)
        set_route(workflow="reply", provider=provider, model="bench")
        widget = Widget.objects.filter(name="Bench").first() or create_widget(
            client=hartwell, changes={"name": "Bench", "allowed_origins": [ORIGIN]}
        )
        return widget.public_key


def _model_enabled(enabled: bool) -> None:
    """Knowledge-only mode is simply no model configured for the client."""
    from django_tenants.utils import tenant_context

    from apps.llm.models import LLMProvider
    from tenants.models import Client

    with tenant_context(Client.objects.get(schema_name="hartwell")):
        LLMProvider.objects.filter(name="bench-scripted").update(enabled=enabled)


# --- the load schedule -------------------------------------------------------------------------------
@dataclass
class Turn:
    """One session's moments: when it opens, when it asks; ``answered`` once it has (or has failed)."""

    open_at: float
    ask_at: float
    everyone_answered: asyncio.Event
    on_answered: Callable[[], None]
    counted: bool = field(default=False)

    def answered(self) -> None:
        if not self.counted:
            self.counted = True
            self.on_answered()

    async def until(self, moment: float) -> None:
        await asyncio.sleep(max(0.0, moment - asyncio.get_running_loop().time()))


Session = Callable[[Turn], Awaitable[dict[str, float]]]


async def _load(n: int, ramp: float, window: float, session: Session) -> tuple[list[dict[str, float]], list[str]]:
    loop = asyncio.get_running_loop()
    start = loop.time() + 0.2
    everyone = asyncio.Event()
    remaining = n

    def on_answered() -> None:
        nonlocal remaining
        remaining -= 1
        if remaining == 0:
            everyone.set()

    async def one(i: int) -> dict[str, float] | BaseException:
        turn = Turn(start + ramp * i / n, start + ramp + random.random() * window, everyone, on_answered)
        try:
            return await session(turn)
        except Exception as exc:
            return exc
        finally:
            turn.answered()

    results = await asyncio.gather(*(one(i) for i in range(n)))
    failures = [f"{type(r).__name__}: {r}"[:160] for r in results if isinstance(r, BaseException)]
    return [r for r in results if not isinstance(r, BaseException)], failures


async def _alive(ws: Any, frame: str, expect: Callable[[str], bool]) -> None:
    """After everyone was answered: the socket must still answer."""
    await ws.send(frame)
    while not expect(await _recv(ws, "the reply after everyone was answered", 60)):
        pass


async def _recv(ws: Any, stage: str, timeout: float = ANSWER_TIMEOUT) -> Any:
    try:
        return await asyncio.wait_for(ws.recv(), timeout=timeout)
    except TimeoutError:
        raise TimeoutError(f"nothing within {timeout:g} s while waiting for {stage}") from None


def _connect(url: str, **kwargs: Any) -> Any:
    import websockets

    # No client pings (a browser sends none); the server's own pings stay on.
    return websockets.connect(url, open_timeout=60, ping_interval=None, max_size=2**20, **kwargs)


def echo_session(port: int) -> Session:
    async def run(turn: Turn) -> dict[str, float]:
        await turn.until(turn.open_at)
        async with _connect(f"ws://127.0.0.1:{port}/echo/") as ws:
            await turn.until(turn.ask_at)
            started = time.perf_counter()
            await ws.send("ping")
            await _recv(ws, "the echo")
            result = {"round_trip": (time.perf_counter() - started) * 1000}
            turn.answered()
            await turn.everyone_answered.wait()
            await _alive(ws, "still there?", lambda frame: True)
            return result

    return run


def model_session(llm_url: str, http: Any) -> Session:
    async def run(turn: Turn) -> dict[str, float]:
        await turn.until(turn.ask_at)
        body = {"model": "bench", "stream": True, "messages": [{"role": "user", "content": QUESTION}]}
        started = time.perf_counter()
        async with http.post(f"{llm_url}/chat/completions", json=body) as response:
            await response.content.readline()
            first = (time.perf_counter() - started) * 1000
            await response.read()
        return {"first": first}

    return run


def widget_session(port: int, key: str, expect_answer: str | None) -> Session:
    async def run(turn: Turn) -> dict[str, float]:
        await turn.until(turn.open_at)
        # The URL names the client's host (Host header); the TCP connection goes to 127.0.0.1.
        url = f"ws://hartwell.localhost:{port}/ws/widget/?key={key}"
        async with _connect(url, host="127.0.0.1", port=port, origin=ORIGIN) as ws:  # type: ignore[arg-type]
            started = time.perf_counter()
            await ws.send(json.dumps({"type": "hello"}))
            ready = json.loads(await _recv(ws, "ready"))
            if ready.get("type") != "ready":
                raise RuntimeError(f"refused: {ready}")
            result = {"hello": (time.perf_counter() - started) * 1000}
            await turn.until(turn.ask_at)
            started = time.perf_counter()
            await ws.send(json.dumps({"type": "ping"}))
            while json.loads(await _recv(ws, "pong"))["type"] != "pong":
                pass
            result["round_trip"] = (time.perf_counter() - started) * 1000
            started = time.perf_counter()
            await ws.send(json.dumps({"type": "message", "text": QUESTION}))
            while True:
                event = json.loads(await _recv(ws, "the first token" if "first" not in result else "the answer"))
                if event["type"] == "token" and "first" not in result:
                    result["first"] = (time.perf_counter() - started) * 1000
                elif event["type"] == "message" and event["role"] == "gaby":
                    if expect_answer is not None and event["body"] != expect_answer:
                        raise RuntimeError(f"unexpected answer {event['body']!r}")
                    result["done"] = (time.perf_counter() - started) * 1000
                    break
                elif event["type"] == "error":
                    raise RuntimeError(event["error"])
            turn.answered()
            await turn.everyone_answered.wait()
            await _alive(ws, json.dumps({"type": "ping"}), lambda frame: json.loads(frame)["type"] == "pong")
            return result

    return run


# --- the run ------------------------------------------------------------------------------------------
def _raise_open_files(sessions: int) -> int:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))  # children (the servers) inherit it
    if hard < 2 * sessions + 200:
        raise SystemExit(f"{sessions} sessions need {2 * sessions + 200} open files; the hard limit is {hard}.")
    return hard


def _start(name: str, command: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
    log = (ROOT / "var" / f"bench-widget-{name}.log").open("wb")
    return subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)


def _row(label: str, samples: list[float]) -> None:
    print(f"  {label:<46} {summary(samples) if samples else 'no samples'}")


def _dropped(label: str, n: int, failures: list[str]) -> None:
    print(f"  {label:<46} {len(failures)} of {n}")
    for failure in failures[:3]:
        print(f"      {failure}")


def _p50(samples: list[float]) -> float:
    return statistics.median(samples)


def _p95(samples: list[float]) -> float:
    return sorted(samples)[max(0, int(len(samples) * 0.95) - 1)]  # as bench._server.summary counts it


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sessions", type=int, default=1000)
    parser.add_argument("--ramp", type=float, default=10.0, help="seconds over which the sessions connect")
    parser.add_argument("--window", type=float, default=30.0, help="seconds over which they ask their question")
    parser.add_argument("--first-token-ms", type=float, default=300.0, help="the scripted model's first-token time")
    parser.add_argument("--no-knowledge", action="store_true", help="skip the knowledge-only (no model) rows")
    parser.add_argument(
        "--web-workers",
        type=int,
        default=2 * (os.cpu_count() or 1),
        help="Gaby's web processes (GABY_WEB_WORKERS; default: two per core, as docs/guides/chat.md "
        "recommends for many widgets)",
    )
    args = parser.parse_args()
    n = args.sessions
    files = _raise_open_files(n)
    llm_port = free_port()
    model_command = [
        sys.executable,
        "bench/stream_llm.py",
        "--port",
        str(llm_port),
        "--first-token-ms",
        str(args.first_token_ms),
        "--answer",
        ANSWER,
    ]
    llm = _start("model", model_command, dict(os.environ))
    llm_url = f"http://127.0.0.1:{llm_port}/v1"
    key = _prepare(llm_url)
    from django.conf import settings

    from apps.core.env import database_url
    from gaby_site.launcher import wait_for_port

    allowance = str(4 * n)  # per minute, for 127.0.0.1: every simulated visitor shares it
    env = dict(
        os.environ,
        GABY_LOG_LEVEL="warning",
        GABY_KB_EMBEDDINGS="none",
        GABY_CHAT_IP_CONNECTIONS_PER_MINUTE=allowance,
        GABY_CHAT_IP_MESSAGES_PER_MINUTE=allowance,
        DATABASE_URL=database_url(settings.DATABASES["default"]),
        REDIS_URL=settings.REDIS_URL,
        GABY_WEB_WORKERS=str(args.web_workers),
    )
    echo_port, gaby_port = free_port(), free_port()
    echo = _start(
        "echo",
        [
            sys.executable,
            "-m",
            "uvicorn",
            "bench.echo_asgi:application",
            "--host",
            "127.0.0.1",
            "--port",
            str(echo_port),
            "--log-level",
            "warning",
        ],
        env,
    )
    gaby = _start(
        "gaby",
        [sys.executable, "-m", "gaby_site.serve", "--host", "127.0.0.1", "--port", str(gaby_port)],
        dict(env, GABY_PORT=str(gaby_port)),
    )
    try:
        wait_http(f"http://127.0.0.1:{gaby_port}/health", timeout=120)
        if not wait_for_port("127.0.0.1", llm_port, 60, [llm]):
            raise TimeoutError(f"the scripted model did not listen on {llm_port}")
        time.sleep(1)  # the echo server has no HTTP route to poll
        print(
            f"{n} widget sessions open at once (connected over {args.ramp:g} s, each asks once within the next "
            f"{args.window:g} s); scripted model's first token after {args.first_token_ms:g} ms; "
            f"{os.cpu_count()} cores, {args.web_workers} Gaby web process(es), open-files limit {files}"
        )
        asyncio.run(_load(5, 0.1, 0.1, echo_session(echo_port)))  # warm-up
        echo_results, echo_failures = asyncio.run(_load(n, args.ramp, args.window, echo_session(echo_port)))
        _row("floor: bare Channels echo, frame round trip", [r["round_trip"] for r in echo_results])
        _dropped("floor: echo sessions dropped", n, echo_failures)

        async def model_floor() -> tuple[list[dict[str, float]], list[str]]:
            import aiohttp

            connector = aiohttp.TCPConnector(limit=0)
            async with aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(60)) as http:
                return await _load(n, args.ramp, args.window, model_session(llm_url, http))

        model_results, model_failures = asyncio.run(model_floor())
        model_first = [r["first"] for r in model_results]
        _row("floor: scripted model alone, first token", model_first)
        _dropped("floor: model requests failed", n, model_failures)

        asyncio.run(_load(5, 0.1, 0.1, widget_session(gaby_port, key, ANSWER)))  # warm-up
        modes = [("Gaby + model", ANSWER, True)] + (
            [] if args.no_knowledge else [("Gaby, knowledge only", None, False)]
        )
        for label, expected, with_model in modes:
            _model_enabled(with_model)
            results, failures = asyncio.run(_load(n, args.ramp, args.window, widget_session(gaby_port, key, expected)))
            _row(f"{label}: hello → conversation ready", [r["hello"] for r in results])
            _row(f"{label}: ping → pong round trip", [r["round_trip"] for r in results])
            _row(f"{label}: question → first token", [r["first"] for r in results])
            _row(f"{label}: question → answer stored", [r["done"] for r in results])
            if with_model and results and model_first:
                first = [r["first"] for r in results]
                print(
                    f"  {label + ': added to the model first token':<46} "
                    f"p50 {_p50(first) - _p50(model_first):6.2f} ms  "
                    f"p95 {_p95(first) - _p95(model_first):6.2f} ms"
                )
            _dropped(f"{label}: sessions dropped", n, failures)
    finally:
        _model_enabled(True)
        for server in (echo, gaby, llm):
            server.terminate()
            try:
                server.wait(timeout=30)  # open sockets take a while to drain
            except subprocess.TimeoutExpired:
                server.kill()


if __name__ == "__main__":
    main()
