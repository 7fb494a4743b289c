"""Email end to end against a real IMAP server (pymap) and a real SMTP server (aiosmtpd)."""

import json
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

import pytest

from apps.tickets import delivery, polling, services
from apps.tickets.models import DeliveryState, Message, MessageKind, QuarantinedPayload, Ticket, TicketSource
from apps.tickets.sources.email.parse import parse_email
from tests.tickets.conftest import free_port

pytestmark = pytest.mark.django_db


def customer_email(message_id: str = "<first@client.example>", **headers: str) -> EmailMessage:
    mail = EmailMessage()
    mail["From"] = headers.pop("From", "Dana Reyes <dana@client.example>")
    mail["To"] = "support@hartwell.example"
    mail["Subject"] = headers.pop("Subject", "Cannot open the shared drive")
    mail["Message-ID"] = message_id
    mail["Date"] = "Tue, 03 Nov 2026 09:15:00 +0000"
    for name, value in headers.items():
        mail[name.replace("_", "-")] = value
    mail.set_content("Since this morning S: is gone on every laptop.")
    return mail


@pytest.fixture
def mailbox(make_source: Any, imap_server: Any, smtp_server: Any) -> Any:
    controller, _ = smtp_server
    config = imap_server.config() | {
        "smtp_host": controller.hostname,
        "smtp_port": controller.port,
        "smtp_security": "none",
        "from_address": "Hartwell Support <support@hartwell.example>",
        "batch_size": 2,
    }
    return make_source(kind="email", name="Support mailbox", **config)


def poll(source: TicketSource) -> polling.PollResult:
    TicketSource.objects.filter(pk=source.pk).update(next_poll_at=None)
    return polling.poll(source.pk)


def test_an_email_becomes_a_ticket_once(mailbox: Any, imap_server: Any, in_hartwell: Any) -> None:
    imap_server.deliver(customer_email())
    result = poll(mailbox)
    assert (result.status, result.created) == ("ok", 1)
    ticket = Ticket.objects.get()
    assert ticket.title == "Cannot open the shared drive" and ticket.contact.email == "dana@client.example"
    assert ticket.messages.get().external_id == "<first@client.example>"
    # The same email delivered again (a second copy in the mailbox) creates nothing new.
    imap_server.deliver(customer_email())
    again = poll(mailbox)
    assert (again.created, again.new_messages) == (0, 0)
    assert Ticket.objects.count() == 1 and Message.objects.count() == 1
    source = TicketSource.objects.get(pk=mailbox.pk)
    assert source.cursor["last_uid"] > 0 and source.last_error == "" and source.last_status.startswith("ok: 0 new")


def test_replies_thread_auto_replies_and_bounces_are_skipped(mailbox: Any, imap_server: Any, in_hartwell: Any) -> None:
    imap_server.deliver(customer_email())
    imap_server.deliver(
        customer_email(
            "<second@client.example>", Subject="Re: Cannot open the shared drive", In_Reply_To="<first@client.example>"
        )
    )
    imap_server.deliver(customer_email("<ooo@client.example>", Subject="Out of office", Auto_Submitted="auto-replied"))
    imap_server.deliver(customer_email("<v@client.example>", Subject="Away", X_Autoreply="yes"))
    bounce = customer_email(
        "<bounce@mx.example>",
        From="Mail Delivery Subsystem <MAILER-DAEMON@mx.example>",
        Subject="Undelivered Mail Returned to Sender",
    )
    imap_server.deliver(bounce)
    result = poll(mailbox)  # batch_size 2: the poll walks all pages
    assert result.created == 1 and result.skipped == {"auto-reply": 2, "bounce": 1}
    ticket = Ticket.objects.get()
    assert list(ticket.messages.values_list("external_id", flat=True)) == [
        "<first@client.example>",
        "<second@client.example>",
    ]


def test_attachments_are_stored(mailbox: Any, imap_server: Any, in_hartwell: Any, settings: Any) -> None:
    mail = customer_email()
    mail.add_attachment(b"%PDF-1.4 report", maintype="application", subtype="pdf", filename="error-report.pdf")
    imap_server.deliver(mail)
    poll(mailbox)
    attachment = Message.objects.get().attachments.get()
    assert (attachment.filename, attachment.content_type, attachment.size) == (
        "error-report.pdf",
        "application/pdf",
        15,
    )
    assert (settings.MEDIA_ROOT / attachment.file.name).read_bytes() == b"%PDF-1.4 report"


def test_an_unreadable_email_is_quarantined_not_dropped(mailbox: Any, imap_server: Any, in_hartwell: Any) -> None:
    imap_server.deliver(b"Subject: no sender\r\nMessage-ID: <x@y>\r\n\r\nbody\r\n")
    result = poll(mailbox)
    assert result.quarantined == 1 and not Ticket.objects.exists()
    kept = QuarantinedPayload.objects.get()
    assert "no sender address" in kept.error and "body" in kept.raw and kept.content_type == "message/rfc822"


def test_a_reply_is_sent_over_smtp_threaded_exactly_once(
    mailbox: Any,
    imap_server: Any,
    smtp_server: Any,
    in_hartwell: Any,
    people: dict[str, Any],
    django_capture_on_commit_callbacks: Any,
) -> None:
    _, captured = smtp_server
    imap_server.deliver(customer_email())
    poll(mailbox)
    ticket = Ticket.objects.get()
    message = services.reply(
        ticket=ticket, body="We restarted the file server.", kind="public_reply", author=people["bob"]
    )
    note = services.reply(ticket=ticket, body="It was the NAS again.", kind="internal_note", author=people["bob"])
    assert message.delivery_state == DeliveryState.QUEUED and note.delivery_state == DeliveryState.NONE
    assert delivery.deliver(message.pk) == "sent"
    assert delivery.deliver(message.pk) == "not-queued"  # a retried task never sends twice
    assert delivery.deliver(note.pk) == "not-queued"  # internal notes stay in Gaby
    assert len(captured.messages) == 1
    sent = message_from_bytes(captured.messages[0]["data"], policy=policy.default)
    assert captured.messages[0]["to"] == ["dana@client.example"]
    assert sent["Subject"] == "Re: Cannot open the shared drive"
    assert sent["In-Reply-To"] == "<first@client.example>"
    assert sent["References"] == "<first@client.example>"
    assert sent["Message-ID"] == f"<{message.pk}@hartwell.example>"
    message.refresh_from_db()
    assert message.delivery_state == DeliveryState.SENT and message.external_id == sent["Message-ID"]

    # The customer answers our reply: it threads under the same ticket through our Message-ID.
    imap_server.deliver(
        customer_email(
            "<third@client.example>",
            Subject="Re: Re: Cannot open the shared drive",
            In_Reply_To=sent["Message-ID"],
            References=f"<first@client.example> {sent['Message-ID']}",
        )
    )
    assert poll(mailbox).new_messages == 1
    assert Ticket.objects.count() == 1 and ticket.messages.count() == 4
    second = services.reply(ticket=ticket, body="Glad it works.", kind=MessageKind.PUBLIC_REPLY, author=people["bob"])
    delivery.deliver(second.pk)
    threaded = message_from_bytes(captured.messages[1]["data"], policy=policy.default)
    assert threaded["In-Reply-To"] == "<third@client.example>"
    assert threaded["References"].split() == ["<first@client.example>", sent["Message-ID"], "<third@client.example>"]


def test_smtp_down_hands_the_claim_back_for_a_retry(
    mailbox: Any, in_hartwell: Any, people: dict[str, Any], imap_server: Any, smtp_server: Any
) -> None:
    imap_server.deliver(customer_email())
    poll(mailbox)
    _controller, captured = smtp_server
    working = services.source_config(client=in_hartwell, source=mailbox)
    services.update_source_config(client=in_hartwell, source=mailbox, config=working | {"smtp_port": free_port()})
    message = services.reply(ticket=Ticket.objects.get(), body="hi", kind="public_reply", author=people["bob"])
    with pytest.raises(delivery.RetryDelivery, match="unreachable"):
        delivery.deliver(message.pk)
    message.refresh_from_db()
    assert message.delivery_state == DeliveryState.QUEUED and "will retry" in message.delivery_error
    services.update_source_config(client=in_hartwell, source=mailbox, config=working)
    assert delivery.deliver(message.pk) == "sent" and len(captured.messages) == 1


def test_wrong_imap_password_is_recorded_and_the_source_recovers(
    make_source: Any, imap_server: Any, in_hartwell: Any
) -> None:
    source = make_source(kind="email", name="Mailbox", **(imap_server.config() | {"imap_password": "wrong"}))
    result = poll(source)
    source.refresh_from_db()
    assert result.status == "failed" and "sign-in" in source.last_error and source.consecutive_failures == 1
    first_delay = (source.next_poll_at - source.last_sync_at).total_seconds() if source.last_sync_at else None
    assert first_delay is None and source.last_status.startswith("failing since 1 poll(s); next try in 120s")
    services.update_source_config(client=in_hartwell, source=source, config=imap_server.config())
    imap_server.deliver(customer_email())
    assert poll(source).status == "ok"
    source.refresh_from_db()
    assert (source.last_error, source.consecutive_failures) == ("", 0) and Ticket.objects.count() == 1


def test_parser_recognises_a_delivery_status_report() -> None:
    raw = (
        b"From: postmaster@mx.example\r\nTo: support@hartwell.example\r\nSubject: failure\r\n"
        b"Content-Type: multipart/report; report-type=delivery-status; boundary=b\r\n\r\n"
        b"--b\r\nContent-Type: text/plain\r\n\r\nfailed\r\n--b\r\nContent-Type: message/delivery-status\r\n\r\n"
        b"Reporting-MTA: dns; mx.example\r\n--b--\r\n"
    )
    assert parse_email(raw).skipped_as == "bounce"
    assert parse_email(customer_email(Precedence="bulk").as_bytes()).skipped_as == "auto-reply"
    assert parse_email(customer_email(Auto_Submitted="no").as_bytes()).ticket is not None


def test_cli_connects_a_mailbox_and_polls_it(imap_server: Any, hartwell: Any) -> None:
    from io import StringIO

    from django.core.management import call_command

    out = StringIO()
    config = json.dumps(imap_server.config())
    call_command(
        "gaby",
        "add-source",
        "--client",
        "hartwell",
        "--kind",
        "email",
        "--name",
        "Mail",
        "--config",
        config,
        stdout=out,
    )
    assert "Added Email (IMAP + SMTP) source 'Mail' to Hartwell Law" in out.getvalue()
    imap_server.deliver(customer_email())
    call_command("gaby", "poll-source", "--client", "hartwell", "--name", "Mail", stdout=out)
    assert "ok: 1 new, 0 updated, 1 new messages" in out.getvalue()
    call_command("gaby", "add-source", "--client", "hartwell", "--kind", "webhook", "--name", "Hook", stdout=out)
    assert "Signing secret (shown once): " in out.getvalue()
