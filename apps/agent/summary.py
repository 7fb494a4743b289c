"""The nightly summary (FND-4): "While you slept: N resolved, M escalated, here's the one", emailed per client
at the hour its settings name, in the client's time zone.

A beat task looks every 15 minutes; a client whose summary hour has come and who has not had today's summary
claims it with a conditional UPDATE (so two beats or two workers never send it twice), then sends it. If the
mail server refuses, the claim is released and the next beat tries again.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.mail import send_mail
from django.db.models import Case, IntegerField, Value, When

from apps.accounts.models import Membership, Role
from apps.agent.models import AgentSettings, Investigation, InvestigationStatus, VerdictChoice
from apps.agent.runtime import settings_for
from tenants.addresses import client_url
from tenants.models import Client

ESCALATED = (VerdictChoice.NEEDS_TECH, VerdictChoice.NEEDS_L2, VerdictChoice.NEEDS_CLIENT, VerdictChoice.FAILED)
PRIORITY_RANK = Case(
    When(ticket__priority="urgent", then=Value(0)),
    When(ticket__priority="high", then=Value(1)),
    When(ticket__priority="normal", then=Value(2)),
    default=Value(3),
    output_field=IntegerField(),
)


@dataclass(frozen=True)
class Summary:
    subject: str
    body: str
    resolved: int
    escalated: int
    the_one: Investigation | None


def local_now(client: Client, now: datetime) -> datetime:
    try:
        return now.astimezone(ZoneInfo(client.time_zone))
    except (KeyError, ValueError):
        return now.astimezone(ZoneInfo("UTC"))


def is_due(row: AgentSettings, client: Client, now: datetime) -> bool:
    local = local_now(client, now)
    return row.summary_hour is not None and local.hour >= row.summary_hour and row.last_summary_on != local.date()


def recipients(row: AgentSettings, client: Client) -> list[str]:
    chosen = [address.strip() for address in row.summary_recipients.replace(";", ",").split(",") if address.strip()]
    if chosen:
        return chosen
    return admin_emails(client)


def admin_emails(client: Client) -> list[str]:
    """The addresses of the client's active Admins: who hears of things when nobody was named."""
    admins = Membership.objects.filter(client=client, role=Role.ADMIN, user__is_active=True)
    return sorted(admins.values_list("user__email", flat=True))


def compose(client: Client, *, now: datetime) -> Summary:
    """What happened in the 24 hours before ``now``, and the one escalation a person should look at first."""
    finished = Investigation.objects.filter(
        status__in=[InvestigationStatus.DONE, InvestigationStatus.FAILED],
        finished_at__gte=now - timedelta(hours=24),
        finished_at__lt=now,
        ticket__deleted_at__isnull=True,
    ).select_related("ticket")
    resolved = finished.filter(verdict=VerdictChoice.AUTO_RESOLVED).count()
    escalated = finished.filter(verdict__in=ESCALATED)
    the_one = escalated.annotate(rank=PRIORITY_RANK).order_by("rank", "finished_at").first()
    base = client_url(client, scheme="https" if settings.HTTPS else "http", port=settings.PUBLIC_PORT)
    lines = [
        f"While you slept, Gaby worked on {client.name}'s tickets:",
        "",
        f"  {resolved} resolved",
        f"  {escalated.count()} escalated",
        "",
    ]
    if the_one is not None:
        reason = the_one.escalation_reason or the_one.failure_reason or the_one.summary or "-"
        lines += [
            "Here's the one to look at first:",
            "",
            f"  {the_one.ticket.title} ({the_one.ticket.get_priority_display()}, {the_one.get_verdict_display()})",
            f"  Why: {reason}",
            f"  {base}investigations/{the_one.pk}/",
            "",
        ]
    else:
        lines += ["Nothing is waiting for you.", ""]
    lines.append(f"All investigations: {base}investigations/")
    subject = f"[Gaby] {client.name}: {resolved} resolved, {escalated.count()} escalated overnight"
    return Summary(subject, "\n".join(lines), resolved, escalated.count(), the_one)


def claim(row: AgentSettings, day: date) -> bool:
    return bool(AgentSettings.objects.filter(pk=row.pk).exclude(last_summary_on=day).update(last_summary_on=day))


def send_if_due(client: Client, *, now: datetime) -> str:
    """Inside the client's schema: send today's summary once, when its hour has come."""

    row = settings_for()
    if not is_due(row, client, now):
        return "not-due"
    to = recipients(row, client)
    if not to:
        return "no-recipient"
    previous, day = row.last_summary_on, local_now(client, now).date()
    if not claim(row, day):
        return "already-sent"
    summary = compose(client, now=now)
    try:
        send_mail(summary.subject, summary.body, settings.DEFAULT_FROM_EMAIL, to)
    except OSError:
        AgentSettings.objects.filter(pk=row.pk, last_summary_on=day).update(last_summary_on=previous)
        raise
    return "sent"
