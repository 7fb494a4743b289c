"""GOV-4 / MSP-7: PII becomes stable placeholders before text reaches an LLM; profiles choose what."""

from typing import Any

import pytest
from django_tenants.utils import tenant_context
from hypothesis import given, settings
from hypothesis import strategies as st

from apps.auditlog import audit
from apps.core.compliance import PROFILES, ProfileName, profile_for
from apps.core.redaction import PATTERNS, Redactor, Vault, iban_ok, luhn_ok

EVERYTHING = Redactor(PATTERNS)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Mail jane.doe+vip@example.co.uk today", "Mail [EMAIL_1] today"),
        ("card 4111 1111 1111 1111 please", "card [CARD_1] please"),
        ("order 4111 1111 1111 1112 please", "order 4111 1111 1111 1112 please"),  # Luhn fails: not a card
        ("IBAN GB82 WEST 1234 5698 7654 32 ok", "IBAN [IBAN_1] ok"),
        ("SSN 123-45-6789.", "SSN [SSN_1]."),
        ("SIN 046 454 286 here", "SIN [SIN_1] here"),
        ("NI number AB 12 34 56 C", "NI number [NINO_1]"),
        ("key sk_live_4eC39HqLyjWDarjtT1zdp7dc leaked", "key [SECRET_1] leaked"),
        ("token ghp_abcdefghijklmnopqrstuvwxyz0123456789 here", "token [SECRET_1] here"),
        ("AKIAIOSFODNN7EXAMPLE in logs", "[SECRET_1] in logs"),
        ("password: hunter2hunter2 and more", "password: [SECRET_1] and more"),
        (
            "from 10.20.30.40 and 2001:db8::1 and fe80:0:0:0:202:b3ff:fe1e:8329",
            "from [IP_1] and 2001:db8::1 and [IP_2]",
        ),
        ("call +1 (415) 555-0134 now", "call [PHONE_1] now"),
        ("version 1.2.3 released 2026-11-22, ticket #12345", "version 1.2.3 released 2026-11-22, ticket #12345"),
    ],
)
def test_patterns(text: str, expected: str) -> None:
    assert EVERYTHING.redact(text).text == expected


def test_an_iban_with_a_bad_checksum_is_not_an_iban() -> None:
    assert "[IBAN" not in EVERYTHING.redact("IBAN GB00 WEST 1234 5698 7654 32 ok").text


def test_checksums() -> None:
    assert luhn_ok("4111111111111111") and not luhn_ok("4111111111111112")
    assert iban_ok("DE89 3704 0044 0532 0130 00") and not iban_ok("DE00 3704 0044 0532 0130 00")


def test_placeholders_are_stable_within_a_vault_and_restorable() -> None:
    vault = Vault()
    first = EVERYTHING.redact("From a@x.com, cc b@y.org", vault).text
    second = EVERYTHING.redact("Reply to a@x.com", vault).text
    assert first == "From [EMAIL_1], cc [EMAIL_2]" and second == "Reply to [EMAIL_1]"
    assert vault.restore("I wrote to [EMAIL_1] and [EMAIL_9].") == "I wrote to a@x.com and [EMAIL_9]."


def test_unknown_pattern_names_are_refused() -> None:
    with pytest.raises(ValueError, match="Unknown redaction patterns: ssn"):
        Redactor(["email", "ssn"])


def test_profiles_choose_patterns_and_providers() -> None:
    text = "SSN 123-45-6789 from 10.0.0.1, mail a@b.io"
    assert PROFILES[ProfileName.STANDARD].redactor.redact(text).text == "SSN 123-45-6789 from 10.0.0.1, mail [EMAIL_1]"
    assert PROFILES[ProfileName.HIPAA].redactor.redact(text).text == "SSN [SSN_1] from [IP_1], mail [EMAIL_1]"
    assert not PROFILES[ProfileName.HIPAA].allows_provider("openai")
    assert PROFILES[ProfileName.HIPAA].allows_provider("ollama")
    assert PROFILES[ProfileName.STANDARD].allows_provider("anthropic")


def test_a_hipaa_client_gets_redacted_audit_payloads(hartwell: Any, as_user: Any) -> None:
    form = {
        "autonomy": "investigate",
        "approval_threshold": 50,
        "approval_ttl_hours": 24,
        "compliance_profile": "hipaa",
    }
    response = as_user("alice", "hartwell").post("/safety/settings/", form)
    assert response.status_code == 302
    hartwell.refresh_from_db()
    assert profile_for(hartwell).name == "hipaa"
    with tenant_context(hartwell):
        event = audit.record(event="test.pii", payload={"note": "patient mail p@clinic.org, ssn 123-45-6789"})
        assert event.payload == {"note": "patient mail [EMAIL_1], ssn [SSN_1]"}
        assert audit.verify().ok


_pii = st.sampled_from(
    [
        "a.b@example.com",
        "4111 1111 1111 1111",
        "GB82 WEST 1234 5698 7654 32",
        "123-45-6789",
        "10.1.2.3",
        "sk_live_4eC39HqLyjWDarjtT1zdp7dc",
        "+44 20 7946 0958",
        "password=s3cretvalue",
    ]
)
_noise = st.text(alphabet=st.characters(codec="utf-8", exclude_characters="\x00"), max_size=12)
_text = st.lists(st.one_of(_noise, _pii), max_size=8).map(" ".join)


@settings(max_examples=300, deadline=None)
@given(_text)
def test_redaction_is_idempotent(text: str) -> None:
    once = EVERYTHING.redact(text).text
    assert EVERYTHING.redact(once).text == once


@settings(max_examples=300, deadline=None)
@given(_text)
def test_restore_inverts_redaction(text: str) -> None:
    vault = Vault()
    assert vault.restore(EVERYTHING.redact(text, vault).text) == text


def test_a_text_sent_again_redacts_the_same_with_its_vault_and_per_profile() -> None:
    """The gateway redacts the same ticket and passages on every model call of an investigation: the vault
    remembers each text's result, which must be what redacting it afresh would give, profile by profile."""
    vault = Vault()
    ticket = "Jane (jane@example.com, +1 415 555 0134) asks about card 4111 1111 1111 1111."
    first = EVERYTHING.redact(ticket, vault)
    EVERYTHING.redact("Also bob@example.com", vault)
    again = EVERYTHING.redact(ticket, vault)
    assert again == first and again.text.count("[EMAIL_1]") == 1 and "[CARD_1]" in again.text
    emails_only = Redactor(["email"]).redact(ticket, vault)
    assert "[EMAIL_1]" in emails_only.text and "4111 1111 1111 1111" in emails_only.text
    assert vault.restore(again.text) == ticket
