"""Attacks on email ingestion (issue 18, items 5 and 11), each through a real IMAP server (pymap) and the poller.

A NUL byte or bytes that are not UTF-8 in a message that cannot become a ticket; a message that fails while
the ones after it wait; charsets nobody knows; an attachment name longer than a file name may be.
"""

from __future__ import annotations

import imaplib
from typing import Any

import pytest

from apps.tickets import polling, services
from apps.tickets.models import Attachment, QuarantinedPayload, Ticket, TicketSource
from apps.tickets.rawtext import payload_bytes
from apps.tickets.sources.email.parse import UnparseableEmail, parse_email
from tests.tickets.conftest import IMAP_PASSWORD, IMAP_USER
from tests.tickets.test_email import customer_email

pytestmark = pytest.mark.django_db

# No From (it cannot become a ticket), a NUL byte, a lone 0xFF (not UTF-8), and a backslash that must survive.
POISONED = (
    b"Subject: printer \\\\server\\queue\r\nMessage-ID: <poison@client.example>\r\n\r\n"
    b"jammed\x00again \xff\xfe and C:\\\\temp\r\n"
)


@pytest.fixture
def mailbox(make_source: Any, imap_server: Any) -> Any:
    return make_source(kind="email", name="Support mailbox", **imap_server.config())


def mailbox_uids(imap_server: Any) -> list[int]:
    conn = imaplib.IMAP4(imap_server.host, imap_server.port, timeout=10)
    try:
        conn.login(IMAP_USER, IMAP_PASSWORD)
        conn.select("INBOX", readonly=True)
        return sorted(int(uid) for uid in conn.uid("SEARCH", "ALL")[1][0].split())
    finally:
        conn.logout()


def poll(source: TicketSource) -> polling.PollResult:
    TicketSource.objects.filter(pk=source.pk).update(next_poll_at=None)
    return polling.poll(source.pk)


def raw_email(
    charset: str,
    body: bytes,
    *,
    subtype: str = "plain",
    subject: bytes = b"Printer down",
    sender: bytes = b"Dana Reyes <dana@client.example>",
) -> bytes:
    return (
        b"From: " + sender + b"\r\nTo: support@hartwell.example\r\nSubject: " + subject + b"\r\n"
        b"Message-ID: <" + charset.encode() + b"." + subtype.encode() + b"@client.example>\r\n"
        b"MIME-Version: 1.0\r\nContent-Type: text/" + subtype.encode() + b'; charset="' + charset.encode() + b'"\r\n'
        b"Content-Transfer-Encoding: 8bit\r\n\r\n" + body + b"\r\n"
    )


def test_an_unparseable_email_with_a_nul_byte_is_kept_byte_for_byte_and_the_mail_after_it_arrives(
    mailbox: Any, imap_server: Any, in_hartwell: Any, as_user: Any
) -> None:
    imap_server.deliver(customer_email("<before@client.example>"))
    imap_server.deliver(POISONED)
    imap_server.deliver(customer_email("<after@client.example>", Subject="VPN drops every hour"))
    result = poll(mailbox)
    assert (result.status, result.created, result.quarantined) == ("ok", 2, 1), result.error
    assert set(Ticket.objects.values_list("title", flat=True)) == {
        "Cannot open the shared drive",
        "VPN drops every hour",
    }
    kept = QuarantinedPayload.objects.get()
    assert "no sender address" in kept.error and "jammed" in kept.raw  # an operator can read it
    original = payload_bytes(kept)
    assert original == POISONED, "the raw message is kept losslessly, NUL, stray bytes and backslashes included"
    with pytest.raises(UnparseableEmail, match="no sender address"):
        parse_email(original)  # it can be processed again once the sender is fixed
    source = TicketSource.objects.get(pk=mailbox.pk)
    assert source.cursor["last_uid"] == mailbox_uids(imap_server)[-1]
    assert source.last_error == "" and source.consecutive_failures == 0
    again = poll(mailbox)
    assert (again.status, again.quarantined, QuarantinedPayload.objects.count()) == ("ok", 0, 1)
    page = as_user("bob", "hartwell").get("/inbox/quarantine/").content.decode()
    assert "jammed\\x00again \\xff\\xfe" in page, "the operator sees where the NUL and stray bytes were"


def test_the_cursor_advances_message_by_message(
    mailbox: Any, imap_server: Any, in_hartwell: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The quarantine fails once (the database went away): the messages before it stay stored and are not read
    again; the failing one is read again on the next poll, kept, and the one after it arrives."""
    imap_server.deliver(customer_email("<before@client.example>"))
    imap_server.deliver(POISONED)
    imap_server.deliver(customer_email("<after@client.example>", Subject="VPN drops every hour"))
    real_quarantine, calls = services.quarantine, []

    def quarantine_fails_once(**kwargs: Any) -> Any:
        calls.append(kwargs)
        if len(calls) == 1:
            raise ConnectionError("the database went away")
        return real_quarantine(**kwargs)

    monkeypatch.setattr(services, "quarantine", quarantine_fails_once)
    failed = poll(mailbox)
    assert failed.status == "failed" and "went away" in failed.error
    source = TicketSource.objects.get(pk=mailbox.pk)
    first, _, last = mailbox_uids(imap_server)
    assert source.cursor["last_uid"] == first, "the message stored before the failure is behind the cursor"
    assert list(Ticket.objects.values_list("external_id", flat=True)) == ["<before@client.example>"]
    recovered = poll(mailbox)
    assert (recovered.status, recovered.created, recovered.updated, recovered.quarantined) == ("ok", 1, 0, 1)
    assert payload_bytes(QuarantinedPayload.objects.get()) == POISONED
    assert TicketSource.objects.get(pk=mailbox.pk).cursor["last_uid"] == last


def test_a_nul_byte_in_a_readable_email_is_dropped_and_the_ticket_opens(
    mailbox: Any, imap_server: Any, in_hartwell: Any
) -> None:
    mail = raw_email(
        "utf-8", b"the drive\x00 is gone", subject=b"Shared\x00 drive", sender=b"Da\x00na <dana@client.example>"
    )
    imap_server.deliver(mail.replace(b"Message-ID: <utf-8", b"Message-ID: <utf\x00-8"))
    result = poll(mailbox)
    assert (result.status, result.created, result.quarantined) == ("ok", 1, 0)
    ticket = Ticket.objects.select_related("contact").get()
    assert (ticket.title, ticket.body, ticket.contact.name) == ("Shared drive", "the drive is gone", "Dana")
    assert ticket.external_id == "<utf-8.plain@client.example>"


@pytest.mark.parametrize(
    ("charset", "body", "expected"),
    [
        ("x-unknown", "Le caf\xe9 ne marche plus".encode("latin-1"), "Le caf\xe9 ne marche plus"),
        ("utf8mb4", "Die Stra\xdfe \U0001f600".encode(), "Die Stra\xdfe \U0001f600"),
        ("utf-8x", "na\xefve r\xe9sum\xe9".encode(), "na\xefve r\xe9sum\xe9"),
        ("windows-1252x", "\u201cquoted\u201d \u20ac5".encode("cp1252"), "\u201cquoted\u201d \u20ac5"),
        ("us-ascii", "caf\xe9".encode(), "caf\xe9"),  # declared ASCII, sent as UTF-8
    ],
)
def test_an_unknown_or_wrong_charset_is_decoded_leniently_not_quarantined(
    mailbox: Any, imap_server: Any, in_hartwell: Any, charset: str, body: bytes, expected: str
) -> None:
    imap_server.deliver(raw_email(charset, body))
    result = poll(mailbox)
    assert (result.status, result.created, result.quarantined) == ("ok", 1, 0), QuarantinedPayload.objects.first()
    assert Ticket.objects.get().body == expected


def test_unknown_charsets_in_html_and_in_headers(mailbox: Any, imap_server: Any, in_hartwell: Any) -> None:
    imap_server.deliver(
        raw_email(
            "bogus",
            "<p>Caf\xe9 <b>ferm\xe9</b></p>".encode("latin-1"),
            subtype="html",
            subject=b"=?utf8mb4?q?R=C3=A9seau_en_panne_?= =?x-unknown?q?=E9t=E9?=",
            sender=b"=?x-unknown?q?Jos=E9?= Reyes <dana@client.example>",
        )
    )
    imap_server.deliver(
        raw_email("utf-8", b"ok", subject=b"Caf\xe9 ferm\xe9", sender=b"Ren\xe9e <renee@client.example>")
    )
    result = poll(mailbox)
    assert (result.status, result.created, result.quarantined) == ("ok", 2, 0)
    tickets = {t.title: t for t in Ticket.objects.select_related("contact")}
    assert set(tickets) == {"R\xe9seau en panne \xe9t\xe9", "Caf\xe9 ferm\xe9"}  # 8-bit headers too
    first = tickets["R\xe9seau en panne \xe9t\xe9"]
    assert first.body == "Caf\xe9 ferm\xe9" and first.contact.name == "Jos\xe9 Reyes"
    assert tickets["Caf\xe9 ferm\xe9"].contact.name == "Ren\xe9e"


def test_a_300_character_attachment_name_is_stored_under_a_short_name(
    mailbox: Any, imap_server: Any, in_hartwell: Any, settings: Any, as_user: Any
) -> None:
    long_name = "quarterly-report-" + "x" * 279 + ".pdf"
    wide_name = "\u62a5\u544a" * 100 + ".xlsx"  # 200 characters, 600 bytes in UTF-8
    mail = customer_email()
    mail.add_attachment(b"%PDF-1.4 long", maintype="application", subtype="pdf", filename=long_name)
    mail.add_attachment(b"PK wide", maintype="application", subtype="octet-stream", filename=wide_name)
    assert len(long_name) == 300
    imap_server.deliver(mail)
    result = poll(mailbox)
    assert (result.status, result.created, result.quarantined) == ("ok", 1, 0)
    stored = {a.filename: a for a in Attachment.objects.all()}
    assert set(stored) == {long_name, wide_name}, "the original names are kept for display"
    for attachment, suffix, content in (
        (stored[long_name], ".pdf", b"%PDF-1.4 long"),
        (stored[wide_name], ".xlsx", b"PK wide"),
    ):
        on_disk = settings.MEDIA_ROOT / attachment.file.name
        assert len(on_disk.name.encode()) <= 255 and on_disk.name.endswith(suffix)
        assert on_disk.read_bytes() == content
    download = as_user("bob", "hartwell").get(f"/inbox/attachments/{stored[long_name].pk}/")
    assert download.status_code == 200 and long_name in download["Content-Disposition"]
