"""Reading a ticket before matching it: the requester's own words apart from signatures, quotes and forwards."""

from __future__ import annotations

import pytest

from apps.tickets.reading import detect_language, read

SIGNED = """Hi,

my login is jane.doe@acme.test, I'm locked out. Please help!

Best regards,
Mallory
mallory@evil.example | +1 555 0100
"""

FORWARDED = """FYI see below, can you help?

---------- Forwarded message ---------
From: Jane Roe <jane.roe@acme.test>
Date: Mon, 3 Nov 2026 at 09:12
Subject: locked out
To: Bob <bob@acme.test>

I can't get into my account anymore, it says too many attempts.
"""

QUOTED = """Thanks, that worked! One more: how do I export our data?

On Tue, 3 Nov 2026 at 10:00, Support <support@northwind.example> wrote:
> Hi Maria, your account is unlocked. Write to carol@other.example if anything else comes up.
> Best, Support
"""


def test_the_signature_is_kept_apart_with_its_addresses() -> None:
    reading = read(SIGNED)
    assert reading.request.endswith("I'm locked out. Please help!")
    assert "mallory@evil.example" in reading.signature and "mallory@evil.example" not in reading.request
    assert reading.other_addresses == ("mallory@evil.example",)


def test_a_forwarded_message_is_someone_elses_words() -> None:
    reading = read(FORWARDED)
    assert reading.request == "FYI see below, can you help?"
    assert "too many attempts" in reading.forwarded and reading.forwarded_from == "jane.roe@acme.test"
    assert reading.cover_note_only  # a cover note only: matching reads the forwarded words too
    assert "too many attempts" in reading.matching_text()


def test_quoted_history_is_not_the_request() -> None:
    reading = read(QUOTED)
    assert reading.request == "Thanks, that worked! One more: how do I export our data?"
    assert "carol@other.example" in reading.quoted and "carol@other.example" in reading.other_addresses
    assert reading.matching_text() == reading.request


@pytest.mark.parametrize(
    "closing",
    [
        "Danke und Gruß\nTom Becker\nVertretung: Jana Kraus, jana.kraus@kesselwerk.example",
        "Thank you and greetings from Innsbruck\nLena Fischer",
    ],
)
def test_sign_offs_the_parser_does_not_know_still_end_the_request(closing: str) -> None:
    reading = read(f"Hallo,\n\nich habe mein Passwort vergessen. Können Sie mir einen Link schicken?\n\n{closing}")
    assert reading.request.endswith("Link schicken?") and closing.splitlines()[0] in reading.signature


def test_a_hyphen_list_of_questions_is_not_a_signature() -> None:
    reading = read("Two things:\n\n- How do we verify a webhook?\n- Do you retry when we are offline?\n\nThanks")
    assert "verify a webhook" in reading.request and "retry" in reading.request


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("Guten Tag, wo finde ich unsere Rechnungen als PDF? Danke", "de"),
        ("Bonjour, comment puis-je annuler mon abonnement ?", "fr"),
        ("Hola, ¿cuánto tarda el envío de las llaves a España?", "es"),
        ("Hello, where can I download our invoices as PDF files?", "en"),
        ("ok", "en"),
    ],
)
def test_the_language_is_detected_offline(text: str, language: str) -> None:
    assert detect_language(text) == language


def test_nul_and_empty_bodies_read_cleanly() -> None:
    assert read("hello\x00 world").request == "hello world"
    assert read("", title="Rechnung fehlt").request == ""
