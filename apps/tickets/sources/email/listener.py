"""The long-running IMAP IDLE listener: wakes a source's pull the moment new mail arrives.

One thread per enabled email source of every active client holds an IDLE connection; on new mail it
calls ``wake`` (by default: queue ``tickets.poll_source`` in the client's schema, the same pull the
beat runs). Polling stays the fallback: a server without IDLE, a listener that is not running, or a
connection that keeps failing only means the mail waits for the next regular poll. Sources added,
changed or disabled are picked up when the listener rescans (every ``rescan_seconds``).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from uuid import UUID

from django.db import connections
from django_tenants.utils import get_public_schema_name, tenant_context

from apps.core.tasks import enqueue
from apps.tickets.models import SourceKind, TicketSource
from apps.tickets.selectors import source_config
from apps.tickets.sources.base import SourceError
from apps.tickets.sources.email.adapter import EmailAdapter
from apps.tickets.sources.email.idle import IdleUnsupported, MailboxWatcher
from tenants.models import Client

log = logging.getLogger(__name__)
Wake = Callable[[Client, UUID], None]
MAX_RECONNECT_WAIT = 300.0


def queue_poll(client: Client, source_id: UUID) -> None:
    with tenant_context(client):
        enqueue("tickets.poll_source", str(source_id))


@dataclass
class IdleListener:
    wake: Wake = queue_poll
    idle_seconds: float = 20 * 60
    rescan_seconds: float = 60.0
    threads: dict[tuple[str, UUID], threading.Thread] = field(default_factory=dict)
    # Why each source is not listened to (no IDLE, bad config), for the command's output and the tests.
    unsupported: dict[UUID, str] = field(default_factory=dict)

    def email_sources(self) -> list[tuple[Client, UUID]]:
        found = []
        for client in Client.objects.filter(is_active=True).exclude(schema_name=get_public_schema_name()):
            with tenant_context(client):
                ids = TicketSource.objects.filter(kind=SourceKind.EMAIL, enabled=True).values_list("pk", flat=True)
                found += [(client, source_id) for source_id in ids]
        return found

    def run(self, stop: threading.Event) -> None:
        """Until ``stop`` is set: keep one listening thread per enabled email source."""
        try:
            while not stop.is_set():
                for client, source_id in self.email_sources():
                    key = (client.schema_name, source_id)
                    thread = self.threads.get(key)
                    if (thread is None or not thread.is_alive()) and source_id not in self.unsupported:
                        self.threads[key] = self.start(client, source_id, stop)
                stop.wait(self.rescan_seconds)
        finally:
            connections.close_all()

    def start(self, client: Client, source_id: UUID, stop: threading.Event) -> threading.Thread:
        thread = threading.Thread(
            target=self.listen, args=(client, source_id, stop), name=f"imap-idle-{source_id}", daemon=True
        )
        thread.start()
        return thread

    def _adapter(self, client: Client, source_id: UUID) -> EmailAdapter | None:
        with tenant_context(client):
            source = TicketSource.objects.filter(pk=source_id, enabled=True).first()
            if source is None:
                return None
            return EmailAdapter(source_id=str(source.pk), config=source_config(client=client, source=source))

    def listen(self, client: Client, source_id: UUID, stop: threading.Event) -> None:
        """One source: IDLE, wake on new mail, reconnect with backoff; give up only if IDLE is unsupported."""
        failures = 0
        try:
            while not stop.is_set():
                adapter = self._adapter(client, source_id)
                connections.close_all()  # hold no database connection while idling for minutes
                if adapter is None:
                    return
                try:
                    with MailboxWatcher(adapter) as watcher:
                        failures = 0
                        self.wake(client, source_id)  # mail that arrived while nobody listened
                        while not stop.is_set():
                            if watcher.wait(min(self.idle_seconds, 60.0)):
                                self.wake(client, source_id)
                except IdleUnsupported as exc:
                    self.unsupported[source_id] = str(exc)
                    log.info("imap idle unsupported", extra={"source": str(source_id), "reason": str(exc)})
                    return
                except SourceError as exc:
                    failures += 1
                    wait = min(MAX_RECONNECT_WAIT, 2.0**failures)
                    log.warning(
                        "imap idle failed", extra={"source": str(source_id), "error": str(exc), "retry_in": wait}
                    )
                    stop.wait(wait)
        finally:
            connections.close_all()
