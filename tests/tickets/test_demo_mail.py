"""The demo mail server of ``./gaby run``, end to end: the process the launcher starts (pymap + aiosmtpd),
the email sources the demo seeding points at it, an email sent over SMTP becoming one ticket in the
right client, a reply arriving threaded in the customers mailbox, and the demo-mail commands."""

from __future__ import annotations

import imaplib
import smtplib
import subprocess
import threading
import time
from collections.abc import Iterator
from email import message_from_bytes, policy
from email.message import EmailMessage
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django_tenants.utils import tenant_context

from apps.tickets import delivery, polling, services
from apps.tickets.models import DeliveryState, Ticket, TicketSource
from apps.tickets.sources.email.adapter import EmailAdapter
from apps.tickets.sources.email.idle import MailboxWatcher
from gaby_site.demo_mail import CUSTOMERS, DemoMail, support_address
from gaby_site.launcher import ROOT, process_commands, wait_for_port
from tenants.demo import DEMO_MAIL_SOURCE, seed_demo_mail
from tests.tickets.conftest import free_port

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo_mail(tmp_path: Path) -> Iterator[DemoMail]:
    """The demo mail server, started with the very command ``./gaby run`` supervises."""
    mail = DemoMail(data_dir=tmp_path, imap_port=free_port(), smtp_port=free_port())
    mail.accounts()
    process = subprocess.Popen(process_commands("127.0.0.1", 8000, mail)["mail"], cwd=ROOT, stderr=subprocess.PIPE)
    if not all(wait_for_port(mail.host, port, 30, [process]) for port in (mail.imap_port, mail.smtp_port)):
        process.kill()
        errors = process.stderr.read() if process.stderr else b""
        raise RuntimeError(f"the demo mail server did not start: {errors!r}")
    yield mail
    process.terminate()
    process.wait(timeout=15)


@pytest.fixture
def demo_sources(demo_mail: DemoMail, hartwell: Any, dearborn: Any) -> dict[str, Any]:
    clients = {"hartwell": hartwell, "dearborn": dearborn}
    seed_demo_mail(clients, demo_mail)
    return clients


def customer_mail(to: str, message_id: str = "<vpn-1@customer.demo>") -> EmailMessage:
    mail = EmailMessage()
    mail["From"] = "Dana Reyes <dana@customer.demo>"
    mail["To"] = to
    mail["Subject"] = "VPN drops every ten minutes"
    mail["Message-ID"] = message_id
    mail["Date"] = "Sun, 22 Nov 2026 09:00:00 +0000"
    mail.set_content("Since the update the VPN disconnects every ten minutes.")
    return mail


def send(mail: DemoMail, message: EmailMessage) -> None:
    with smtplib.SMTP(mail.host, mail.smtp_port, timeout=10) as smtp:
        smtp.send_message(message)


def poll(client: Any) -> polling.PollResult:
    with tenant_context(client):
        source = TicketSource.objects.get(name=DEMO_MAIL_SOURCE)
        return polling.poll(source.pk)


def mailbox(mail: DemoMail, login: str) -> list[EmailMessage]:
    conn = imaplib.IMAP4(mail.host, mail.imap_port, timeout=10)
    try:
        conn.login(login, mail.password(login))
        conn.select("INBOX", readonly=True)
        found = []
        for uid in (conn.uid("SEARCH", "ALL")[1][0] or b"").decode().split():
            raw = next(item[1] for item in conn.uid("FETCH", uid, "(BODY.PEEK[])")[1] if isinstance(item, tuple))
            parsed = message_from_bytes(raw, policy=policy.default)
            assert isinstance(parsed, EmailMessage)
            found.append(parsed)
        return found
    finally:
        conn.logout()


def test_seeding_points_each_demo_client_at_its_own_mailbox_once(
    demo_mail: DemoMail, demo_sources: dict[str, Any]
) -> None:
    seed_demo_mail(demo_sources, demo_mail)  # a second run adds nothing
    for slug, client in demo_sources.items():
        with tenant_context(client):
            [source] = TicketSource.objects.filter(kind="email")
            config = services.source_config(client=client, source=source)
            assert source.enabled and source.name == DEMO_MAIL_SOURCE
            assert (config["imap_user"], config["imap_port"]) == (support_address(slug), demo_mail.imap_port)
            assert config["smtp_port"] == demo_mail.smtp_port and config["imap_password"] not in source.sealed_config
    seed_demo_mail(demo_sources, None)  # run without the demo mail server: the sources rest
    with tenant_context(demo_sources["hartwell"]):
        assert not TicketSource.objects.get(name=DEMO_MAIL_SOURCE).enabled


def test_an_email_to_a_demo_address_becomes_one_ticket_in_that_client_only(
    demo_mail: DemoMail, demo_sources: dict[str, Any]
) -> None:
    hartwell, dearborn = demo_sources["hartwell"], demo_sources["dearborn"]
    send(demo_mail, customer_mail(support_address("hartwell")))
    result = poll(hartwell)
    assert (result.status, result.created) == ("ok", 1)
    assert poll(dearborn).created == 0
    with tenant_context(hartwell):
        ticket = Ticket.objects.get()
        assert (ticket.title, ticket.external_id) == ("VPN drops every ten minutes", "<vpn-1@customer.demo>")
        assert ticket.contact.email == "dana@customer.demo"
    with tenant_context(dearborn):
        assert not Ticket.objects.exists()
    # The same email delivered again creates nothing new.
    send(demo_mail, customer_mail(support_address("hartwell")))
    again = poll(hartwell)
    assert (again.status, again.created, again.new_messages) == ("ok", 0, 0)
    with tenant_context(hartwell):
        assert Ticket.objects.count() == 1


def test_a_reply_arrives_in_the_customers_mailbox_threaded_under_the_original(
    demo_mail: DemoMail, demo_sources: dict[str, Any], people: dict[str, Any]
) -> None:
    hartwell = demo_sources["hartwell"]
    send(demo_mail, customer_mail(support_address("hartwell")))
    poll(hartwell)
    with tenant_context(hartwell):
        ticket = Ticket.objects.get()
        reply = services.reply(
            ticket=ticket, body="Update the VPN client to 5.2.", kind="public_reply", author=people["bob"]
        )
        assert delivery.deliver(reply.pk) == "sent"
        reply.refresh_from_db()
        assert reply.delivery_state == DeliveryState.SENT
    [sent] = mailbox(demo_mail, CUSTOMERS)
    assert sent["To"] == "dana@customer.demo" and sent["From"] == "Hartwell Law Support <support@hartwell.demo>"
    assert sent["Subject"] == "Re: VPN drops every ten minutes"
    assert sent["In-Reply-To"] == "<vpn-1@customer.demo>" and sent["References"] == "<vpn-1@customer.demo>"
    assert sent["Message-ID"] == reply.external_id
    assert "Update the VPN client to 5.2." in sent.get_content()
    # The reply went to the customer, not back into the support mailbox as a new ticket.
    assert len(mailbox(demo_mail, support_address("hartwell"))) == 1


def test_idle_on_a_demo_mailbox_wakes_as_soon_as_mail_is_sent(
    demo_mail: DemoMail, demo_sources: dict[str, Any]
) -> None:
    hartwell = demo_sources["hartwell"]
    with tenant_context(hartwell):
        source = TicketSource.objects.get(name=DEMO_MAIL_SOURCE)
        adapter = EmailAdapter(source_id=str(source.pk), config=services.source_config(client=hartwell, source=source))
    with MailboxWatcher(adapter) as watcher:
        threading.Timer(0.3, send, args=[demo_mail, customer_mail(support_address("hartwell"))]).start()
        started = time.monotonic()
        assert watcher.wait(20) is True
        assert time.monotonic() - started < 5  # pymap's Maildir backend rechecks every second


def test_the_demo_mail_commands_send_and_list(
    demo_mail: DemoMail,
    demo_sources: dict[str, Any],
    people: dict[str, Any],
    settings: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    settings.DATA_DIR = demo_mail.data_dir
    monkeypatch.setenv("GABY_DEMO_MAIL_IMAP_PORT", str(demo_mail.imap_port))
    monkeypatch.setenv("GABY_DEMO_MAIL_SMTP_PORT", str(demo_mail.smtp_port))
    out = StringIO()
    call_command(
        "gaby",
        "demo-mail",
        "send",
        "--to",
        "support@dearborn.demo",
        "--subject",
        "Invoice export fails",
        "--body",
        "The CSV export is empty.",
        "--message-id",
        "<cli-1@customer.demo>",
        "--wait",
        "0",
        stdout=out,
    )
    assert "Sent <cli-1@customer.demo> to support@dearborn.demo." in out.getvalue()
    assert poll(demo_sources["dearborn"]).created == 1
    again = StringIO()
    call_command(
        "gaby",
        "demo-mail",
        "send",
        "--to",
        "support@dearborn.demo",
        "--subject",
        "Invoice export fails",
        "--body",
        "The CSV export is empty.",
        "--message-id",
        "<cli-1@customer.demo>",
        stdout=again,
    )
    assert "<cli-1@customer.demo> is already a ticket (http://dearborn.localhost" in again.getvalue()
    assert poll(demo_sources["dearborn"]).created == 0
    with tenant_context(demo_sources["dearborn"]):
        ticket = Ticket.objects.get()
        reply = services.reply(ticket=ticket, body="Fixed in 3.1.", kind="public_reply", author=people["carol"])
        delivery.deliver(reply.pk)
    listed = StringIO()
    call_command("gaby", "demo-mail", "list", stdout=listed)
    text = listed.getvalue()
    assert "In-Reply-To: <cli-1@customer.demo>" in text and "References:  <cli-1@customer.demo>" in text
    assert "Subject:     Re: Invoice export fails" in text and "1 message(s) in customers." in text
