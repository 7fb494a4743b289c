"""Help-desk attachments are downloaded into the same storage as email attachments: within the size limit,
content type kept, never twice, and a failed download keeps its message and shows why (recorded exchanges)."""

from pathlib import Path
from typing import Any

import pytest
from django_tenants.utils import tenant_context

from apps.tickets import polling, services
from apps.tickets.models import Attachment, Message, TicketSource
from apps.tickets.sources.freshdesk.adapter import FreshdeskAdapter
from tests.tickets import test_freshdesk, test_zendesk
from tests.tickets.recorded import replaying

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _limit(settings: Any) -> None:
    settings.TICKETS_ATTACHMENT_MAX_BYTES = 1024 * 1024


def _files(message: Message) -> dict[str, tuple[str, int, str, bytes]]:
    out = {}
    for a in message.attachments.order_by("external_id"):
        content = a.file.open("rb").read() if a.file else b""
        out[a.filename] = (a.content_type, a.size, a.error[:40], content)
    return out


def test_zendesk_comment_attachments_are_stored_once_and_a_failed_one_is_fetched_on_the_next_pull(
    make_source: Any, hartwell: Any, as_user: Any
) -> None:
    with replaying("zendesk", "attachments", "attachments_again") as server:
        source = make_source(kind="zendesk", name="Zendesk", **test_zendesk.config(server.url))
        with tenant_context(hartwell):
            TicketSource.objects.filter(pk=source.pk).update(cursor={"after_cursor": "CURSOR-1"})
            first = polling.poll(source.pk)
            assert (first.status, first.created, first.new_messages) == ("ok", 1, 2)
            opening = Message.objects.get(external_id="5001")
            files = _files(opening)
            assert files["vpn.log"] == ("text/plain", 21, "", b"10:02 tunnel dropped\n")  # followed the redirect
            assert files["screen.png"][2].startswith("Could not download") and files["screen.png"][3] == b""
            assert "removed.txt" not in files  # deleted at Zendesk
            capture = _files(Message.objects.get(external_id="5002"))["capture.pcap"]
            assert capture[2].startswith("Not downloaded: 734003200 bytes is over")
            stored_log = opening.attachments.get(external_id="7001").file.name
            # Customers' documents are readable by Gaby's own user only (issue 18, item 12).
            on_disk = Path(opening.attachments.get(external_id="7001").file.path)
            assert on_disk.stat().st_mode & 0o777 == 0o600 and on_disk.parent.stat().st_mode & 0o777 == 0o700

            TicketSource.objects.filter(pk=source.pk).update(next_poll_at=None)
            again = polling.poll(source.pk)
            assert (again.status, again.created, again.new_messages) == ("ok", 0, 0)
            files = _files(opening)
            assert files["screen.png"] == ("image/png", 8, "", b"PNGDATA!")
            assert Attachment.objects.count() == 3 and Message.objects.count() == 2
            assert opening.attachments.get(external_id="7001").file.name == stored_log
            ticket_id = opening.ticket_id
            png = opening.attachments.get(external_id="7002")
            missing = Message.objects.get(external_id="5002").attachments.get()
        server.check()
    page = as_user("bob", "hartwell").get(f"/inbox/t/{ticket_id}/").content.decode()
    assert 'data-testid="attachment-error"' in page and "capture.pcap" in page
    download = as_user("bob", "hartwell").get(f"/inbox/attachments/{png.pk}/")
    assert download.status_code == 200 and b"".join(download.streaming_content) == b"PNGDATA!"
    assert download["Content-Type"] == "image/png"
    assert as_user("bob", "hartwell").get(f"/inbox/attachments/{missing.pk}/").status_code == 404
    assert as_user("carol", "dearborn").get(f"/inbox/attachments/{png.pk}/").status_code in (403, 404)


def test_freshdesk_ticket_and_conversation_attachments_are_downloaded(make_source: Any, hartwell: Any) -> None:
    with replaying("freshdesk", "attachments") as server:
        source = make_source(kind="freshdesk", name="Freshdesk", **test_freshdesk.config(server.url))
        adapter = FreshdeskAdapter(source_id=str(source.pk), config=test_freshdesk.config(server.url))
        normalized = adapter.parse_webhook(b'{"ticket_id": "42"}', {})
        with tenant_context(hartwell):
            ticket = services.ingest_ticket(source=source, normalized=normalized).ticket
            opening = ticket.messages.get(external_id="ticket-42")
            reply = ticket.messages.get(external_id="3301")
            assert _files(opening) == {"printer.jpg": ("image/jpeg", 9, "", b"JPEGDATA!")}
            assert _files(reply) == {"driver.log": ("text/plain", 12, "", b"spooler: ok\n")}  # after a 503
            services.ingest_ticket(source=source, normalized=normalized)  # the same delivery again
            assert Attachment.objects.count() == 2
        server.check()
    assert adapter.http.waits == [0.5]
