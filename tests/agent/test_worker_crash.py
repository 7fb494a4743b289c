"""A worker killed mid-investigation (SIGKILL, a real Celery prefork worker process) never writes twice.

The investigation makes a real write through the safety gate (an INSERT on the PostgreSQL connector, act
autonomy), then the pool process running it is killed while the model is thinking. Acks late + reject on
worker lost requeue the task; the engine waits out the dead run's heartbeat lease, resumes it (attempt 2),
the model asks for the same write again, and the gate returns the recorded action instead of inserting
a second row. The reply to the customer is written once.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from django.conf import settings

from apps.core.env import database_url
from tests.agent.committed import CommittedHartwell, run_committed, wait_for
from tests.agent.helpers import classify, route_all, verdict
from tests.connectors.conftest import _sample_db, _url
from tests.llm_server import Reply, ScriptedLLM, Slow

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parents[2]
INSERT = {"sql": "INSERT INTO credits (customer_id, amount) VALUES (2, 10)", "dry_run": False}


@pytest.fixture
def credits_table(sample_url: str) -> Iterator[None]:
    with psycopg.connect(_url(_sample_db()), autocommit=True) as db:
        db.execute("CREATE TABLE IF NOT EXISTS credits (customer_id int NOT NULL, amount int NOT NULL)")
        db.execute("TRUNCATE credits")
    yield
    with psycopg.connect(_url(_sample_db()), autocommit=True) as db:
        db.execute("DROP TABLE credits")


def _credits() -> int:
    with psycopg.connect(_url(_sample_db())) as db:
        row = db.execute("SELECT count(*) FROM credits").fetchone()
        return int(row[0]) if row else 0


@pytest.fixture
def worker_process(world: Any) -> Iterator[subprocess.Popen[bytes]]:
    """``celery worker`` as its own process tree (prefork, one pool process) on the test database and Redis."""
    db = settings.DATABASES["default"]
    env = dict(os.environ)
    env.update(
        DJANGO_SETTINGS_MODULE="gaby_site.settings_test",
        REDIS_URL=settings.REDIS_URL,
        DATABASE_URL=database_url(db, name=world.database),
        GABY_INVESTIGATION_LEASE_S="2",
        GABY_AUTO_INVESTIGATE="false",
    )
    log = ROOT / "var" / "crash-worker.log"
    log.parent.mkdir(exist_ok=True)
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "gaby_site.celery",
                "worker",
                "--pool=prefork",
                "--concurrency=1",
                "--loglevel=info",
                "--without-gossip",
                "--without-mingle",
                "-n",
                f"crash-{uuid.uuid4().hex[:8]}@%h",
            ],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        yield proc
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


def _pool_children(pid: int) -> list[int]:
    found = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True, check=False)
    return [int(line) for line in found.stdout.split()]


def test_sigkill_mid_investigation_resumes_without_a_second_write(
    world: Any, worker_process: subprocess.Popen[bytes], sample_url: str, credits_table: None, llm: ScriptedLLM
) -> None:
    write = {"name": "Billing_DB__execute_write", "arguments": INSERT}
    llm.then(
        classify(),
        Reply("", tool_calls=[write]),
        Slow(30, Reply("DONE")),  # the worker is killed while this one is being answered
        classify(),  # attempt 2 starts over...
        Reply("", tool_calls=[write]),  # ...and asks for the same write: the gate returns the recorded one
        Reply("DONE"),
        verdict(reply="We added a credit of 10 to your account.", citations=["T1"], summary="Credited [T1]."),
    )

    def scenario(state: CommittedHartwell) -> None:
        from apps.agent.investigations import start_investigation
        from apps.agent.models import Investigation
        from apps.safety.models import ToolAction
        from apps.tickets import services
        from apps.tickets.models import MessageKind
        from apps.tickets.normalized import NormalizedMessage, NormalizedTicket

        state.set_client(autonomy="auto")
        state.connector(sample_url, writes=True)
        route_all(state.client, llm)
        source = services.create_source(client=state.client, kind="webhook", name="Portal", config={})
        text = "Please credit my account, I was charged twice."
        normalized = NormalizedTicket(
            external_id="T-9",
            title="Refund please",
            body=text,
            messages=(NormalizedMessage(external_id="m-9", body=text),),
        )
        ticket = services.ingest_ticket(source=source, normalized=normalized).ticket
        investigation = start_investigation(ticket=ticket)

        wait_for(lambda: len(llm.requests) >= 3, what="the model call after the write")
        assert ToolAction.objects.get().status == "done" and _credits() == 1
        children = _pool_children(worker_process.pid)
        assert children, "the prefork worker has a pool process"
        for pid in children:
            os.kill(pid, signal.SIGKILL)

        done = wait_for(
            lambda: Investigation.objects.filter(pk=investigation.pk, status__in=["done", "failed"]).first(),
            timeout=120,
            what="the redelivered investigation to finish",
        )
        assert (done.status, done.verdict, done.attempts) == ("done", "auto_resolved", 2)
        assert any("Resumed after the worker stopped" in t for t in done.steps.values_list("title", flat=True))
        assert ToolAction.objects.count() == 1 and _credits() == 1  # no duplicated write
        replies = ticket.messages.filter(kind=MessageKind.PUBLIC_REPLY, author_label="Gaby")
        assert [m.body for m in replies] == ["We added a credit of 10 to your account."]
        assert len(llm.requests) == 7

    run_committed(world, scenario)
