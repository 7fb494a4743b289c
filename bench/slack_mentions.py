"""Slack mentions under load: N signed ``app_mention`` events at once, each answered from knowledge in its thread,
beside the widget's figure and two floors measured in the same run.

Servers, as ``./gaby run`` runs them: Gaby's web process (``python -m gaby_site.serve``) with the Slack app configured
(``GABY_SLACK_SIGNING_SECRET``, ``GABY_SLACK_API_URL`` pointing at the stand-in) and a Celery worker
(``--concurrency`` processes) that writes the answers; the Slack Web API is sandbox/slack.py in this process, which
timestamps every ``chat.postMessage``. No model is configured: knowledge-only answers, as in the offline demo.

Rows:
- floor: the events endpoint's acknowledgement (Bolt verifies the signature and answers before any work);
- floor: the stand-in's own ``chat.postMessage`` round trip at the same concurrency;
- Slack: event sent → first reply posted in its thread (p50/p95), and the duplicates: every event is sent again as
  Slack's retry (``X-Slack-Retry-Num: 1``) while the first is being answered; a thread with two answers is a duplicate;
- widget: the same number of sessions asking the same question at once over websockets, question → first token and
  → answer stored (bench/widget.py's session).

    .venv/bin/python bench/slack_mentions.py [--mentions 200] [--worker-concurrency 4]
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
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench._server import ROOT, free_port, setup_django, summary, wait_http
from bench.widget import QUESTION, _load, _model_enabled, widget_session
from sandbox.slack import SlackSandbox, send_event

SIGNING_SECRET = "bench-signing-secret"
CHANNEL = "C0HELPDESK"
ORIGIN = "http://bench.example"


def _prepare(sandbox: SlackSandbox) -> str:
    setup_django()
    from django_tenants.utils import tenant_context

    from apps.chat.models import Conversation, Widget
    from apps.chat.surfaces import routing
    from apps.chat.widgets import create_widget
    from tenants.demo import seed_demo

    clients, _, _ = seed_demo()
    hartwell = clients["hartwell"]
    routing.install(
        client=hartwell,
        kind="slack",
        workspace_id=sandbox.team["id"],
        display_name="Bench workspace",
        bot_token=sandbox.bot_token,
        bot_user_id=sandbox.bot_user_id,
        channels=[CHANNEL],
    )
    with tenant_context(hartwell):
        Conversation.objects.filter(surface="slack").delete()  # a previous run's threads
        widget = Widget.objects.filter(name="Bench").first() or create_widget(
            client=hartwell, changes={"name": "Bench", "allowed_origins": [ORIGIN]}
        )
    _model_enabled(False)  # knowledge only, for both surfaces
    return widget.public_key


def _start(name: str, command: list[str], env: dict[str, str]) -> subprocess.Popen[bytes]:
    log = (ROOT / "var" / f"bench-slack-{name}.log").open("wb")
    return subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)


def _row(label: str, samples: list[float]) -> None:
    print(f"  {label:<52} {summary(samples) if samples else 'no samples'}")


def _ack_floor(url: str, n: int) -> list[float]:
    """Signed events for an unlisted channel: Bolt verifies and acknowledges; the listener then refuses quietly."""
    sandbox = SlackSandbox()

    def one(i: int) -> float:
        payload = sandbox.mention(user="U0ALICE", channel="C0RANDOM", text=f"floor {i}")
        started = time.perf_counter()
        send_event(url, SIGNING_SECRET, payload, host="localhost")
        return (time.perf_counter() - started) * 1000

    with ThreadPoolExecutor(max_workers=min(n, 64)) as pool:
        return list(pool.map(one, range(n)))


def _post_floor(sandbox: SlackSandbox, n: int) -> list[float]:
    def one(i: int) -> float:
        body = json.dumps({"channel": "C0RANDOM", "text": f"floor {i}"}).encode()
        request = urllib.request.Request(
            f"{sandbox.base_url}/api/chat.postMessage",
            data=body,
            headers={"Authorization": f"Bearer {sandbox.bot_token}", "Content-Type": "application/json"},
        )
        started = time.perf_counter()
        with urllib.request.urlopen(request, timeout=30) as response:
            response.read()
        return (time.perf_counter() - started) * 1000

    with ThreadPoolExecutor(max_workers=min(n, 64)) as pool:
        return list(pool.map(one, range(n)))


def _mentions(url: str, sandbox: SlackSandbox, n: int, timeout: float) -> tuple[list[float], int, int]:
    """(event → first reply ms, unanswered, duplicated threads)."""
    payloads = [sandbox.mention(user="U0ALICE", channel=CHANNEL, text=QUESTION) for _ in range(n)]
    sent_at: dict[str, float] = {}

    def one(payload: dict[str, object]) -> None:
        ts = payload["event"]["ts"]  # type: ignore[index]
        sent_at[ts] = time.monotonic()
        send_event(url, SIGNING_SECRET, payload, host="localhost")
        send_event(url, SIGNING_SECRET, payload, retry_num=1, host="localhost")  # Slack's retry, same event_id

    with ThreadPoolExecutor(max_workers=min(n, 64)) as pool:
        list(pool.map(one, payloads))
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        answered = {m.thread_ts for m in sandbox.thread(CHANNEL) if m.thread_ts in sent_at}
        if len(answered) == n:
            break
        time.sleep(0.1)
    time.sleep(2)  # a duplicate answer, if any, would land by now
    firsts: dict[str, float] = {}
    counts: dict[str, int] = {}
    for message in sandbox.thread(CHANNEL):
        if message.thread_ts in sent_at:
            counts[message.thread_ts] = counts.get(message.thread_ts, 0) + 1
            firsts.setdefault(message.thread_ts, (message.at - sent_at[message.thread_ts]) * 1000)
    return list(firsts.values()), n - len(firsts), sum(1 for c in counts.values() if c > 1)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--mentions", type=int, default=200)
    parser.add_argument("--worker-concurrency", type=int, default=4)
    parser.add_argument("--timeout", type=float, default=300.0)
    args = parser.parse_args()
    n = args.mentions
    sandbox = SlackSandbox()
    sandbox.start()
    key = _prepare(sandbox)
    from django.conf import settings

    from apps.core.env import database_url

    env = dict(
        os.environ,
        GABY_LOG_LEVEL="warning",
        GABY_KB_EMBEDDINGS="none",
        DATABASE_URL=database_url(settings.DATABASES["default"]),
        REDIS_URL=settings.REDIS_URL,
        GABY_SLACK_SIGNING_SECRET=SIGNING_SECRET,
        GABY_SLACK_API_URL=sandbox.base_url + "/api/",
        GABY_CHAT_IP_CONNECTIONS_PER_MINUTE=str(4 * n),
        GABY_CHAT_IP_MESSAGES_PER_MINUTE=str(4 * n),
    )
    port = free_port()
    gaby = _start("web", [sys.executable, "-m", "gaby_site.serve", "--host", "127.0.0.1", "--port", str(port)], env)
    worker_command = [sys.executable, "-m", "celery", "-A", "gaby_site", "worker", "--loglevel", "WARNING"]
    worker = _start("worker", [*worker_command, "--concurrency", str(args.worker_concurrency)], env)
    url = f"http://127.0.0.1:{port}/integrations/slack/events/"
    try:
        wait_http(f"http://127.0.0.1:{port}/health", timeout=120)
        time.sleep(5)  # the worker connects to Redis
        print(
            f"{n} Slack mentions at once (each also retried by Slack), knowledge-only answers; {os.cpu_count()} cores, "
            f"1 web process, {args.worker_concurrency} worker process(es)"
        )
        _mentions(url, sandbox, 5, 60)  # warm-up
        _row("floor: events endpoint acknowledgement", _ack_floor(url, n))
        _row("floor: stand-in chat.postMessage round trip", _post_floor(sandbox, n))
        firsts, unanswered, duplicates = _mentions(url, sandbox, n, args.timeout)
        _row("Slack: event sent → first reply in the thread", firsts)
        print(f"  {'Slack: mentions unanswered':<52} {unanswered} of {n}")
        print(f"  {'Slack: threads answered twice (duplicates)':<52} {duplicates}")
        results, failures = asyncio.run(_load(n, 1.0, 1.0, widget_session(port, key, None)))
        _row("widget: question → first token", [r["first"] for r in results])
        _row("widget: question → answer stored", [r["done"] for r in results])
        print(f"  {'widget: sessions dropped':<52} {len(failures)} of {n}")
    finally:
        for process in (worker, gaby):
            process.terminate()
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
        sandbox.stop()


if __name__ == "__main__":
    main()
