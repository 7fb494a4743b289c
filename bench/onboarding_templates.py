"""Time to onboard a client with an onboarding template (MSP-8), beside the floor of onboarding it without one,
measured in the same run on the same database.

For each built-in template, ``--rounds`` times:

* floor: ``create_client`` alone (a schema copied from the template schema or migrated, its domain, audit rows);
* with the template: ``create_client`` then ``apply_on_onboarding`` (safety settings, playbook switches, the
  knowledge source queued, widget, billing rule, both audit chains, in one transaction); the apply part is also
  printed alone;
* the preview MSP staff see before re-applying (``plan``), on the configured client;
* the worker's half: indexing the template's knowledge bundle (read, chunk, embed with the local model).

The clients are dropped (schema included) at the end; their install audit rows stay, as audit rows do.

    GABY_ENV=development .venv/bin/python bench/onboarding_templates.py [--rounds 3]
"""

from __future__ import annotations

import argparse
import secrets
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench._server import setup_django


def _ms(seconds: list[float]) -> str:
    low, high = min(seconds) * 1000, max(seconds) * 1000
    return f"median {statistics.median(seconds) * 1000:7.0f} ms  (min {low:.0f}, max {high:.0f})"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    setup_django()
    from django_tenants.utils import tenant_context

    from apps.knowledge.models import KnowledgeSource
    from apps.knowledge.services import run_queued_sync
    from apps.onboarding.client_templates.apply import plan
    from apps.onboarding.client_templates.models import ClientTemplate
    from apps.onboarding.client_templates.onboard import apply_on_onboarding
    from tenants.models import Client
    from tenants.services import create_client, ensure_public_tenant

    ensure_public_tenant()
    run = secrets.token_hex(2)
    made: list[Client] = []
    templates = list(ClientTemplate.objects.order_by("key"))
    floor: list[float] = []
    total: dict[str, list[float]] = {t.key: [] for t in templates}
    applying: dict[str, list[float]] = {t.key: [] for t in templates}
    previews: dict[str, list[float]] = {t.key: [] for t in templates}
    indexing: dict[str, list[float]] = {t.key: [] for t in templates}
    changes: dict[str, int] = {}
    try:
        made.append(create_client(name="Bench warm-up", slug=f"bw{run}"))  # first use of the schema copy: not counted
        for n in range(args.rounds):  # the floor and each template take turns, so both see the same machine
            started = time.perf_counter()
            made.append(create_client(name=f"Bench plain {n}", slug=f"bp{run}{n}"))
            floor.append(time.perf_counter() - started)
            for template in templates:
                key = template.key
                started = time.perf_counter()
                client = create_client(name=f"Bench {key} {n}", slug=f"bt{run}{key[:3]}{n}")
                made.append(client)
                created = time.perf_counter()
                onboarded = apply_on_onboarding(client=client, template=template, actor=None)
                done = time.perf_counter()
                assert onboarded.applied, onboarded.message
                changes[key] = len(onboarded.changes)
                total[key].append(done - started)
                applying[key].append(done - created)
                started = time.perf_counter()
                plan(client=client, version=template.latest)
                previews[key].append(time.perf_counter() - started)
                with tenant_context(client):
                    source = KnowledgeSource.objects.get(name__endswith="knowledge (template)")
                    started = time.perf_counter()
                    report = run_queued_sync(source_id=source.pk)
                    indexing[key].append(time.perf_counter() - started)
                    assert report is not None and report.failed == 0
        print(f"Floor: onboarding without a template (create_client), {args.rounds} clients: {_ms(floor)}")
        for template in templates:
            key = template.key
            over = (statistics.median(total[key]) / statistics.median(floor) - 1) * 100
            print(f"\n{template.name} ({changes[key]} settings applied each time), {args.rounds} clients:")
            print(f"  onboarding with the template  {_ms(total[key])}  ({over:+.0f}% over the floor)")
            print(f"    of which applying it        {_ms(applying[key])}")
            print(f"  preview before re-applying    {_ms(previews[key])}")
            print(f"  indexing its bundle (worker)  {_ms(indexing[key])}")
    finally:
        for client in made:
            client.delete(force_drop=True)


if __name__ == "__main__":
    main()
