"""Billable time write-back at MSP scale: N closed investigations across M clients, through each client's billing
rules, written to a PSA stand-in (``--psa halopsa``, the default, or ``--psa autotask``; bench/_time_psa.py) by
parallel workers, two of which die mid-run.

Set-up (not timed): ``--clients`` Gaby clients (schemas made once and reused), each with a source on its own
PSA company (``--tickets`` tickets, polled into Gaby) and a billing rule (minimum 2 min; rounding 6 or 15 min by
client). Timed, in this order:

1. **Recording**: ``--investigations`` investigations are stored as concluded (status ``done``, ``started_at`` →
   ``finished_at`` from 30 s to 20 min, so some fall under the minimum) with ``Investigation.save()``: the billing
   receiver records and rates each one in the same transaction, exactly as a real conclusion does. The engine
   itself does not run (its cost is apps/agent's own bench): this bench measures the ledger and the write-back.
2. **Write-back**: ``--workers`` processes each walk every client's due records and call ``writeback.write``
   (claim, write through the adapter, finish); contention is settled by the conditional UPDATE. When a third of the
   records are written, worker 0 is killed with SIGKILL, mid-write. Worker 1 dies in the window a timed kill
   cannot aim at: right after the PSA wrote a record, before the worker recorded it. The survivors finish the rest.
3. **Recovery**: what the dead worker held stays ``writing``; the sweep runs as it will once the lease has passed
   (``now`` = lease + 1 s later): each such record is looked up by its marker in the PSA, written only if absent.

Then the PSA's entries are counted by marker: duplicates (a marker written twice) and losses (a billable record not
written, or written with no entry in the PSA). Floor: the same number of bare writes (Halo ``POST /api/Actions``,
Autotask ``POST /TimeEntries``) with httpx, by the same number of processes, to a fresh stand-in.

    GABY_ENV=development .venv/bin/python bench/time_writeback.py [--psa autotask] [--clients 50]
"""

from __future__ import annotations

import argparse
import contextlib
import multiprocessing
import os
import random
import signal
import sys
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench._server import setup_django
from bench._time_psa import PSAS, Psa

MARKER = "[gaby-time:"


def _django_in_child() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "gaby_site.settings")
    import django

    django.setup()


def worker(schemas: list[str], order_seed: int, ready: Any, go: Any, die_after_write: int = 0) -> None:
    """One write-back worker: every client's due records, in its own order, through ``writeback.write``.

    ``die_after_write``: at that record, the worker claims it and has the PSA write it, then exits on the spot
    (``os._exit``, no cleanup) before recording the result, the window a timed SIGKILL cannot aim at."""
    _django_in_child()
    from django_tenants.utils import tenant_context

    from apps.billing import writeback
    from apps.billing.models import TimeRecord, WriteState
    from tenants.models import Client

    rng = random.Random(order_seed)
    clients = list(Client.objects.filter(schema_name__in=schemas))
    rng.shuffle(clients)
    ready.release()
    go.wait()  # process start-up is not part of the write-back's time
    done = 0
    for client in clients:
        with tenant_context(client):
            due = list(TimeRecord.objects.filter(state=WriteState.QUEUED).values_list("pk", flat=True))
            rng.shuffle(due)
            for record_id in due:
                done += 1
                if die_after_write and done >= die_after_write:
                    attempt = writeback.claim(record_id)
                    if attempt is not None:  # another worker may hold this one: die on the next one claimed
                        writeback.adapter_of(attempt.record).write_time_entry(writeback.entry_for(attempt.record))
                        os._exit(137)
                # A retry is queued again with its reason; the sweep takes it.
                with contextlib.suppress(writeback.RetryWrite):
                    writeback.write(record_id)


def floor(psa: Psa, clients: int, tickets: int, posts: int, workers: int) -> float:
    with psa.sandbox(psa.seed(clients, tickets)) as stand_in:
        ids = list(stand_in.tickets)
        share = [posts // workers + (1 if w < posts % workers else 0) for w in range(workers)]
        started = time.perf_counter()
        procs = [multiprocessing.Process(target=psa.floor, args=(stand_in.base_url, ids, n)) for n in share]
        for proc in procs:
            proc.start()
        for proc in procs:
            proc.join()
        return time.perf_counter() - started


def prepare(args: argparse.Namespace, psa: Psa, stand_in: Any) -> list[Any]:
    from django_tenants.utils import tenant_context

    from apps.billing.models import BillingRule, TimeRecord
    from apps.tickets import polling, services
    from apps.tickets.models import Message, Ticket, TicketSource
    from tenants.models import Client
    from tenants.services import create_client, ensure_public_tenant

    ensure_public_tenant()
    clients = []
    for c in range(args.clients):
        slug = f"timebench{c}"
        clients.append(Client.objects.filter(slug=slug).first() or create_client(name=f"Time Bench {c}", slug=slug))
    for c, client in enumerate(clients):
        with tenant_context(client):  # each run starts from an empty ledger and empty sources
            TimeRecord.objects.all().delete()
            BillingRule.objects.all().delete()
            for kind in PSAS:  # a run for another PSA left its sources: the records go to this one's
                Message.objects.filter(ticket__source__kind=kind).delete()
                Ticket.objects.filter(source__kind=kind).delete()
                TicketSource.objects.filter(kind=kind).delete()
            config = {**psa.config(stand_in, c), "backfill_days": 3650}
            source = services.create_source(client=client, kind=psa.kind, name=psa.label, config=config)
            assert polling.poll(source.pk).status == "ok"
            BillingRule.objects.create(minimum_minutes=2, rounding_minutes=6 if c % 2 == 0 else 15, **psa.rule(c))
    return clients


def record(clients: list[Any], per_client: int, rng: random.Random, kind: str) -> tuple[float, int, int]:
    from django.db import transaction
    from django_tenants.utils import tenant_context

    from apps.agent.models import Investigation, InvestigationStatus, VerdictChoice
    from apps.billing.models import TimeRecord, WriteState
    from apps.tickets.models import Ticket

    started = time.perf_counter()
    for client in clients:
        with tenant_context(client):
            tickets = list(Ticket.objects.filter(source__kind=kind))
            for n in range(per_client):
                finished = datetime.now(UTC) - timedelta(minutes=rng.randint(1, 600))
                worked = timedelta(seconds=rng.randint(30, 1200))
                with transaction.atomic():
                    Investigation(
                        ticket=tickets[n % len(tickets)],
                        status=InvestigationStatus.DONE,
                        verdict=VerdictChoice.AUTO_RESOLVED,
                        summary=f"Bench investigation {n}",
                        attempts=1,
                        started_at=finished - worked,
                        finished_at=finished,
                    ).save()
    seconds = time.perf_counter() - started
    queued = not_billed = 0
    for client in clients:
        with tenant_context(client):
            counts = Counter(TimeRecord.objects.values_list("state", flat=True))
            queued += counts[WriteState.QUEUED]
            not_billed += counts[WriteState.NOT_BILLED]
    return seconds, queued, not_billed


def written_so_far(clients: list[Any]) -> int:
    from django_tenants.utils import tenant_context

    from apps.billing.models import TimeRecord, WriteState

    total = 0
    for client in clients:
        with tenant_context(client):
            total += TimeRecord.objects.filter(state=WriteState.WRITTEN).count()
    return total


def write_back(clients: list[Any], workers: int, billable: int) -> tuple[float, bool]:
    from django.db import connections

    connections.close_all()  # the children open their own
    schemas = [client.schema_name for client in clients]
    ready, go = multiprocessing.Semaphore(0), multiprocessing.Event()
    # Worker 1 dies right after a PSA write, a quarter of its way in; worker 0 is SIGKILLed below.
    dying = {1: max(1, billable // workers // 4)}
    procs = [
        multiprocessing.Process(target=worker, args=(schemas, w, ready, go, dying.get(w, 0))) for w in range(workers)
    ]
    for proc in procs:
        proc.start()
    for _ in procs:
        ready.acquire()
    started = time.perf_counter()
    go.set()
    killed = False
    while any(proc.is_alive() for proc in procs):
        if not killed and written_so_far(clients) >= billable // 3:
            os.kill(procs[0].pid or 0, signal.SIGKILL)
            killed = True
        time.sleep(1.0)
    for proc in procs:
        proc.join()
    return time.perf_counter() - started, killed


def recover(clients: list[Any]) -> tuple[float, int, Counter[str]]:
    """The sweep once the lease has passed: every record left writing or queued is taken over and finished."""
    from django.utils import timezone
    from django_tenants.utils import tenant_context

    from apps.billing import writeback

    later = timezone.now() + writeback.LEASE + timedelta(seconds=1)
    outcomes: Counter[str] = Counter()
    started = time.perf_counter()
    swept = 0
    for client in clients:
        with tenant_context(client):
            for record_id in writeback.due(now=later, grace=timedelta(0)):
                swept += 1
                try:
                    outcomes[writeback.write(record_id, now=later)] += 1
                except writeback.RetryWrite:
                    outcomes["retry"] += 1
    return time.perf_counter() - started, swept, outcomes


def audit(clients: list[Any], psa: Psa, stand_in: Any) -> tuple[int, int, int, Counter[str]]:
    from django_tenants.utils import tenant_context

    from apps.billing.models import TimeRecord, WriteState

    markers = Counter(
        note[note.index(MARKER) + len(MARKER) : note.index("]", note.index(MARKER))]
        for note in psa.notes(stand_in)
        if MARKER in note
    )
    duplicates = sum(count - 1 for count in markers.values() if count > 1)
    lost = written = 0
    states: Counter[str] = Counter()
    for client in clients:
        with tenant_context(client):
            for pk, state, billable in TimeRecord.objects.values_list("pk", "state", "billable"):
                states[state] += 1
                if not billable:
                    continue
                if state != WriteState.WRITTEN or markers[str(pk)] == 0:
                    lost += 1
                else:
                    written += 1
    return written, duplicates, lost, states


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--psa", choices=sorted(PSAS), default="halopsa", help="the PSA stand-in written to")
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--investigations", type=int, default=10_000)
    parser.add_argument("--tickets", type=int, default=20, help="PSA tickets per client")
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    setup_django()
    multiprocessing.set_start_method("spawn")
    psa = PSAS[args.psa]

    def marked(stand_in: Any) -> int:
        return sum(1 for note in psa.notes(stand_in) if MARKER in note)

    rng = random.Random(args.seed)
    per_client = args.investigations // args.clients
    total = per_client * args.clients
    with psa.sandbox(psa.seed(args.clients, args.tickets)) as stand_in:
        started = time.perf_counter()
        clients = prepare(args, psa, stand_in)
        prepared = time.perf_counter() - started
        recording, queued, not_billed = record(clients, per_client, rng, psa.kind)
        writing, killed = write_back(clients, args.workers, queued)
        in_psa = marked(stand_in)
        written_in_run = written_so_far(clients)
        recovering, swept, outcomes = recover(clients)
        posted_in_recovery = marked(stand_in) - in_psa
        written, duplicates, lost, states = audit(clients, psa, stand_in)
        posts = in_psa + posted_in_recovery
    base = floor(psa, args.clients, args.tickets, posts, args.workers)
    per_record, per_post = writing / max(1, written_in_run), base / max(1, posts)
    name = psa.label
    print(
        f"Time write-back to {name}: {total} closed investigations across {args.clients} clients "
        f"({args.tickets} {name} tickets each), {args.workers} worker processes"
    )
    print(f"  set-up (clients, sources polled, rules; not timed below)    {prepared:7.1f} s")
    print(
        f"  recording + rating, in each conclusion's transaction        {recording:7.1f} s  "
        f"{total / recording:6.0f} records/s  ({queued} billable; {not_billed} under the minimum: kept, not written)"
    )
    print(
        f"  {'floor: bare httpx ' + psa.write + ', same count and processes':<60}{base:7.1f} s  "
        f"{posts / base:6.0f} posts/s"
    )
    print(
        f"  {'write-back: claim, ' + name + ' write, finish (worker 0 killed)':<60}{writing:7.1f} s  "
        f"{written_in_run / writing:6.0f} records/s  ({per_record / per_post:4.1f}x the floor's time per post)"
    )
    print(
        f"  worker 0 SIGKILLed mid-run: {'yes' if killed else 'no (it finished first)'}; worker 1 exited after a "
        f"{name} write; records they left for the sweep: {swept}"
    )
    print(
        f"  sweep after the lease: {recovering:5.2f} s, outcomes {dict(outcomes)}; "
        f"posted to {name} by the sweep: {posted_in_recovery}, "
        f"found in {name} by their marker: {swept - posted_in_recovery}"
    )
    print(f"  final states {dict(states)}")
    print(f"  billable records written once: {written} of {queued}; duplicates at {name}: {duplicates}; lost: {lost}")


if __name__ == "__main__":
    main()
