"""The nightly summary (FND-4): counts, the one to look at, once a day at the client's hour, retried on failure."""

from __future__ import annotations

import socket
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.core import mail

from apps.agent.models import Investigation
from apps.agent.runtime import settings_for
from apps.agent.summary import claim, send_if_due

NOW = datetime(2026, 11, 22, 7, 30, tzinfo=UTC)


def _finished(
    make_ticket: Any, n: int, verdict: str, *, priority: str = "normal", hours_ago: float = 2, reason: str = ""
) -> Investigation:
    ticket = make_ticket(title=f"Ticket {n} ({verdict})", external_id=f"S-{n}")
    ticket.priority = priority
    ticket.save(update_fields=["priority"])
    at = NOW - timedelta(hours=hours_ago)
    return Investigation.objects.create(
        ticket=ticket, status="done", verdict=verdict, escalation_reason=reason, started_at=at, finished_at=at
    )


@pytest.fixture
def night(make_ticket: Any) -> dict[str, Investigation]:
    return {
        "ok1": _finished(make_ticket, 1, "auto_resolved"),
        "ok2": _finished(make_ticket, 2, "auto_resolved", hours_ago=20),
        "low": _finished(make_ticket, 3, "needs_l2", priority="low", reason="Unclear request"),
        "urgent": _finished(make_ticket, 4, "needs_tech", priority="urgent", reason="The VPN gateway is down"),
        "old": _finished(make_ticket, 5, "needs_tech", priority="urgent", hours_ago=30),
    }


def test_it_counts_the_night_and_names_the_most_urgent_escalation(
    in_hartwell: Any, night: dict[str, Investigation]
) -> None:
    assert send_if_due(in_hartwell, now=NOW) == "sent"
    [message] = mail.outbox
    assert message.subject == "[Gaby] Hartwell Law: 2 resolved, 2 escalated overnight"
    assert "alice@hartwell.example" in message.to and "bob@hartwell.example" not in message.to  # Admins only
    assert "Ticket 4 (needs_tech)" in message.body and "The VPN gateway is down" in message.body
    assert f"/investigations/{night['urgent'].pk}/" in message.body
    assert "Ticket 5" not in message.body  # older than 24 hours
    assert send_if_due(in_hartwell, now=NOW + timedelta(hours=3)) == "not-due"
    stale = settings_for()
    stale.last_summary_on = None  # a second beat that read the row before the first one claimed it
    assert not claim(stale, NOW.date())
    assert len(mail.outbox) == 1


def test_it_waits_for_the_hour_in_the_client_time_zone(in_hartwell: Any, night: dict[str, Investigation]) -> None:
    in_hartwell.time_zone = "America/New_York"  # 07:30 UTC is 02:30 there
    assert send_if_due(in_hartwell, now=NOW) == "not-due"
    assert send_if_due(in_hartwell, now=NOW + timedelta(hours=5)) == "sent"
    row = settings_for()
    row.summary_hour = None
    row.save()
    row.last_summary_on = None
    assert send_if_due(in_hartwell, now=NOW + timedelta(days=1)) == "not-due"


def test_configured_recipients_and_a_quiet_night(in_hartwell: Any) -> None:
    row = settings_for()
    row.summary_recipients = "ops@hartwell.example, boss@hartwell.example"
    row.save()
    assert send_if_due(in_hartwell, now=NOW) == "sent"
    assert mail.outbox[0].to == ["ops@hartwell.example", "boss@hartwell.example"]
    assert "0 resolved, 0 escalated" in mail.outbox[0].subject and "Nothing is waiting for you" in mail.outbox[0].body


def test_a_refused_mail_releases_the_day_for_the_next_beat(
    in_hartwell: Any, night: dict[str, Investigation], settings: Any
) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_USE_TLS = "127.0.0.1", closed_port, False
    with pytest.raises(OSError):
        send_if_due(in_hartwell, now=NOW)
    assert settings_for().last_summary_on is None
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    assert send_if_due(in_hartwell, now=NOW) == "sent"


def test_summary_settings_are_validated(as_user: Any, in_hartwell: Any) -> None:
    form = {
        "default_depth": "standard",
        "tone": "friendly",
        "knowledge_threshold": "0.6",
        "max_tokens": "60000",
        "max_usd": "0.5",
        "summary_hour": "25",
        "summary_recipients": "ops@x.example, nope",
    }
    response = as_user("alice", "hartwell").post("/investigations/settings/", form)
    body = response.content.decode()
    assert response.status_code == 400 and "from 0 to 23" in body and "&#x27;nope&#x27; is not an email" in body
    assert settings_for().summary_hour == 7  # nothing was saved
