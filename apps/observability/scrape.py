"""What Prometheus reads at scrape time: levels, not counts, read from PostgreSQL and Redis as they are now.

Approvals waiting, connectors by health, knowledge sources by sync state (with each client's last sync and its
quarantined documents), open widget conversations, Celery queue depth and live workers. Each family is one
statement over every client's schema (apps/core/across.py) or one Redis call, so a scrape costs a handful
of queries whatever the number of clients. A part that fails is reported by ``gaby_scrape_ok{part}`` = 0 and the
rest of the scrape still answers.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator

import structlog
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from apps.chat.models import Conversation, ConversationState
from apps.connectors.models import Connector
from apps.core import across
from apps.knowledge.models import Document, KnowledgeSource
from apps.observability import heartbeat
from apps.observability.labels import client_label
from apps.safety.models import ActionStatus, ToolAction

log = structlog.get_logger(__name__)


def _summed(rows: Iterable[tuple[object, ...]]) -> dict[tuple[str, ...], float]:
    """Rows of (schema, *labels, value) as label tuples → value, schemas folded into ``all`` when client labels
    are off."""
    totals: dict[tuple[str, ...], float] = defaultdict(float)
    for schema, *labels, value in rows:
        totals[(client_label(str(schema)), *(str(label) for label in labels))] += float(value or 0)  # type: ignore[arg-type]
    return totals


def _gauge(name: str, documentation: str, labels: list[str], values: dict[tuple[str, ...], float]) -> GaugeMetricFamily:
    family = GaugeMetricFamily(name, documentation, labels=labels)
    for label_values, value in sorted(values.items()):
        family.add_metric(list(label_values), value)
    return family


def approvals(schemas: list[str]) -> Iterator[Metric]:
    rows = across.per_client(
        schemas, ToolAction, "count(*)", where="status = %s", params=[ActionStatus.AWAITING_APPROVAL]
    )
    yield _gauge("gaby_approvals_waiting", "Tool calls held for a person's approval.", ["client"], _summed(rows))


def connectors(schemas: list[str]) -> Iterator[Metric]:
    rows = across.per_client(schemas, Connector, "status, count(*)", where="enabled", group_by="status")
    yield _gauge(
        "gaby_connectors",
        "Enabled connectors, by health (healthy, degraded, down, new).",
        ["client", "status"],
        _summed(rows),
    )


def knowledge(schemas: list[str]) -> Iterator[Metric]:
    rows = across.per_client(schemas, KnowledgeSource, "status, count(*)", group_by="status")
    yield _gauge(
        "gaby_knowledge_sources",
        "Knowledge sources, by sync state (idle, queued, running, ok, failed).",
        ["client", "status"],
        _summed(rows),
    )
    synced = across.per_client(schemas, KnowledgeSource, "extract(epoch FROM max(last_sync_at))")
    last = GaugeMetricFamily(
        "gaby_knowledge_last_sync_timestamp_seconds",
        "When a knowledge source of the client last synced (Unix time).",
        labels=["client"],
    )
    latest: dict[str, float] = {}
    for schema, moment in synced:
        if moment is not None:
            label = client_label(str(schema))
            latest[label] = max(latest.get(label, 0.0), float(moment))
    for label, moment in sorted(latest.items()):
        last.add_metric([label], moment)
    yield last
    documents = across.per_client(schemas, Document, "error <> '', count(*)", group_by="error <> ''")
    split = _summed((schema, "quarantined" if broken else "indexed", n) for schema, broken, n in documents)
    yield _gauge(
        "gaby_knowledge_documents",
        "Knowledge documents, indexed or quarantined with their error.",
        ["client", "state"],
        split,
    )


def widget(schemas: list[str]) -> Iterator[Metric]:
    rows = across.per_client(
        schemas,
        Conversation,
        "state, count(*)",
        where="state <> %s",
        group_by="state",
        params=[ConversationState.CLOSED],
    )
    yield _gauge(
        "gaby_widget_sessions_open",
        "Open chat widget conversations, by state (bot, waiting, human).",
        ["client", "state"],
        _summed(rows),
    )


def queues(_: list[str]) -> Iterator[Metric]:
    depths = heartbeat.queue_depths()
    yield _gauge(
        "gaby_celery_queue_depth",
        "Tasks waiting in each Celery queue.",
        ["queue"],
        {(name,): n for name, n in depths.items()},
    )
    workers = heartbeat.worker_beats()
    yield _gauge("gaby_celery_workers_alive", "Celery workers whose heartbeat is fresh.", [], {(): float(len(workers))})
    beat = heartbeat.beat_beat()
    if beat is not None:
        yield _gauge(
            "gaby_celery_beat_age_seconds",
            "Seconds since a worker last ran beat's heartbeat task.",
            [],
            {(): beat.age_seconds},
        )


PARTS: dict[str, Callable[[list[str]], Iterator[Metric]]] = {
    "approvals": approvals,
    "connectors": connectors,
    "knowledge": knowledge,
    "widget": widget,
    "queues": queues,
}


class StateCollector(Collector):
    """A prometheus_client collector that reads the current state on every scrape."""

    def collect(self) -> Iterator[Metric]:
        ok = GaugeMetricFamily(
            "gaby_scrape_ok", "Whether this part of the scrape could be read (1) or not (0).", labels=["part"]
        )
        try:
            schemas = across.client_schemas()
        except Exception:
            log.warning("scrape_failed", part="clients", exc_info=True)
            schemas = None
        for part, read in PARTS.items():
            if schemas is None and part != "queues":
                ok.add_metric([part], 0)
                continue
            try:
                families = list(read(schemas or []))
            except Exception:  # one unreadable part must not blank the whole scrape
                log.warning("scrape_failed", part=part, exc_info=True)
                ok.add_metric([part], 0)
                continue
            ok.add_metric([part], 1)
            yield from families
        yield ok
