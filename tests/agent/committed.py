"""Committed set-ups for tests with a real worker (thread or process), which only sees committed rows.

``run_committed`` runs a scenario in autocommit inside Hartwell's schema, on its own thread, and removes
everything it made when it ends, so the session's shared clients are left as they were (settings included).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from django_tenants.utils import tenant_context

from tests.agent.conftest import RUNBOOKS


class CommittedHartwell:
    def __init__(self, client: Any) -> None:
        self.client = client
        self.saved = {"autonomy": client.autonomy, "approval_threshold": client.approval_threshold}
        self.audit_marks = {schema: _last_audit(schema) for schema in (client.schema_name, "public")}

    def set_client(self, **fields: Any) -> None:
        from tenants.models import Client

        Client.objects.filter(pk=self.client.pk).update(**fields)
        for name, value in fields.items():
            setattr(self.client, name, value)

    def knowledge(self, root: Path) -> Any:
        from apps.knowledge import services

        root.mkdir(parents=True, exist_ok=True)
        for name, text in RUNBOOKS.items():
            (root / name).write_text(text, encoding="utf-8")
        source = services.directory_source_for(path=root, name="Runbooks")
        services.sync_now(source=source)
        return source

    def connector(self, url: str, *, writes: bool = False) -> Any:
        from apps.connectors import services
        from apps.connectors.models import Connector, ConnectorTool, Kind
        from apps.connectors.specs import Draft

        settings = {"url": url, "allow_writes": True} if writes else {"url": url}
        connector = services.connect(
            client=self.client, draft=Draft(kind=Kind.POSTGRES, name="Billing DB", settings=settings), actor=None
        )
        if writes:  # a staging database Gaby may change by itself: read-write scope, act autonomy, no approval
            Connector.objects.filter(pk=connector.pk).update(scope="read_write", autonomy="act")
            ConnectorTool.objects.filter(connector=connector).update(destructive_hint=False)
        return connector

    def cleanup(self) -> None:
        from apps.agent.models import AgentSettings
        from apps.connectors.models import Connector
        from apps.knowledge.models import EmbeddingCacheEntry, KBCandidate, KnowledgeSource
        from apps.llm.models import LLMCall, LLMProvider, ModelRoute
        from apps.safety.models import ToolAction
        from apps.tickets.models import Contact, Ticket, TicketSource
        from tenants.models import MonthlyUsage

        Ticket.objects.all().delete()
        Contact.objects.all().delete()
        TicketSource.objects.all().delete()
        ToolAction.objects.all().delete()
        Connector.objects.all().delete()
        ModelRoute.objects.all().delete()
        LLMProvider.objects.all().delete()
        LLMCall.objects.all().delete()
        MonthlyUsage.objects.filter(client=self.client).delete()  # the calls' month totals live in the public schema
        AgentSettings.objects.all().delete()
        for source in KnowledgeSource.objects.all():
            source.delete()
        EmbeddingCacheEntry.objects.all().delete()
        KBCandidate.objects.all().delete()  # resolved investigations propose candidates (LEARN)
        self.set_client(**self.saved)
        for schema, mark in self.audit_marks.items():
            _drop_audit_tail(schema, mark)


def _last_audit(schema: str) -> int:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(f'SELECT coalesce(max(sequence), 0) FROM "{schema}".auditlog_auditevent')
        return int(cursor.fetchone()[0])


def _drop_audit_tail(schema: str, mark: int) -> None:
    """Remove the audit events the scenario added (the chain's tail), so other tests see the chain as it was.

    The table is append-only by trigger; a test restoring shared state is the one place it is lifted, briefly.
    """
    from django.db import connection, transaction

    table = f'"{schema}".auditlog_auditevent'
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"ALTER TABLE {table} DISABLE TRIGGER audit_no_update_delete")
        cursor.execute(f"DELETE FROM {table} WHERE sequence > %s", [mark])
        cursor.execute(f"ALTER TABLE {table} ENABLE TRIGGER audit_no_update_delete")


def run_committed(world: Any, scenario: Callable[[CommittedHartwell], Any]) -> Any:
    """Run ``scenario`` on a thread of its own (autocommit, outside the test's transaction) in Hartwell."""
    from django.db import connections

    from tenants.models import Client

    def target() -> Any:
        try:
            client = Client.objects.get(pk=world.clients["hartwell"].pk)
            with tenant_context(client):
                state = CommittedHartwell(client)
                try:
                    return scenario(state)
                finally:
                    state.cleanup()
        finally:
            connections.close_all()

    with ThreadPoolExecutor(1) as pool:
        return pool.submit(target).result()


def wait_for(check: Callable[[], Any], *, timeout: float = 90, what: str = "the condition") -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"Timed out after {timeout}s waiting for {what}.")
