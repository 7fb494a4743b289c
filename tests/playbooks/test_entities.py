from __future__ import annotations

import pytest

from apps.agent.playbooks.entities import NAMED_PATTERNS, EntitySpec, extract
from tests.playbooks.harness import ticket


@pytest.mark.parametrize(
    ("kind", "text", "expected"),
    [
        ("email", "Please reset it for Jane.Doe+work@Example.co.uk, thanks", "Jane.Doe+work@Example.co.uk"),
        ("order_id", "Where is order #1042?", "1042"),
        ("order_id", "my order number: A-7781 never came", "A-7781"),
        ("order_id", "Re: ORD-2026-0042 late", "ORD-2026-0042"),
        ("order_id", "What's the status of my order?", ""),
        ("invoice_id", "invoice in_1PzQr2LkdIwHu7ix is wrong", "in_1PzQr2LkdIwHu7ix"),
        ("invoice_id", "I never got invoice INV-0042.", "INV-0042"),
        ("charge_id", "refund ch_3MmlLrLkdIwHu7ix0snN0B15 please", "ch_3MmlLrLkdIwHu7ix0snN0B15"),
        ("username", "My username is j.doe and I'm locked", "j.doe"),
        ("username", "login: jdoe", "jdoe"),
    ],
)
def test_named_patterns(kind: str, text: str, expected: str) -> None:
    values, _, _ = extract([EntitySpec(kind, NAMED_PATTERNS[kind])], ticket(text))
    assert values.get(kind, "") == expected


def test_the_contact_is_the_fallback_and_required_entities_are_reported() -> None:
    specs = [
        EntitySpec("email", NAMED_PATTERNS["email"], fallback="contact_email", required=True),
        EntitySpec("order_id", NAMED_PATTERNS["order_id"], required=True),
    ]
    values, missing, origin = extract(specs, ticket("Where is my order?", contact_email="dana@example.com"))
    assert values == {"email": "dana@example.com"} and missing == ["order_id"] and origin == {"email": "contact_email"}
    values, _, origin = extract(specs[:1], ticket("It is for erik@example.com", contact_email="dana@example.com"))
    assert values == {"email": "erik@example.com"} and origin == {"email": "ticket"}


def test_a_custom_regex_takes_its_first_group() -> None:
    values, _, _ = extract([EntitySpec("ticket_ref", r"(?i)case\s+(\d+)")], ticket("About case 8812 from last week"))
    assert values == {"ticket_ref": "8812"}
