"""Plans and quotas, the MSP side: assign a client's plan and caps (audited), and tell people when a cap nears or
is reached. The gateway enforces the caps (apps/llm/quota.py); seats are enforced where members are added
(apps/accounts/services.py)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import structlog
from django.core.mail import send_mail
from django.db import transaction
from django.utils import timezone

from apps.accounts.models import Membership, Role, User
from apps.auditlog.audit import record_by, record_for_client
from apps.auditlog.models import ActorKind
from tenants.models import Client, ClientPlan, Plan, QuotaLevel, QuotaNotice

log = structlog.get_logger(__name__)


def _plain(value: Any) -> Any:
    return str(value) if isinstance(value, Decimal) else value


def assign_plan(
    *,
    client: Client,
    plan: Plan,
    monthly_tokens: int | None,
    monthly_usd: Decimal | None,
    seats: int | None,
    actor: User,
) -> ClientPlan:
    """Put ``client`` on ``plan`` with these overrides (None: the plan's), audited in the client's chain and the
    install's. The gateway reads the caps when it next starts (each investigation or answer)."""
    changes = {"plan": plan.name, "monthly_tokens": monthly_tokens, "monthly_usd": monthly_usd, "seats": seats}
    with transaction.atomic():
        assigned, _ = ClientPlan.objects.select_for_update().get_or_create(client=client, defaults={"plan": plan})
        before = {
            "plan": assigned.plan.name,
            "monthly_tokens": assigned.monthly_tokens,
            "monthly_usd": assigned.monthly_usd,
            "seats": assigned.seats,
        }
        assigned.plan, assigned.monthly_tokens, assigned.monthly_usd, assigned.seats = (
            plan,
            monthly_tokens,
            monthly_usd,
            seats,
        )
        assigned.save()
        payload = {"client": client.slug, **{k: _plain(v) for k, v in changes.items()}}
        payload["before"] = {k: _plain(v) for k, v in before.items()}
        record_by("billing.plan_changed", actor, **payload)  # the install's chain (the portal is the public schema)
        record_for_client(
            client, event="billing.plan_changed", actor_kind=ActorKind.USER, actor_id=actor.pk, payload=payload
        )
    log.info("plan_assigned", client=client.schema_name, plan=plan.name, by=str(actor.pk))
    return assigned


def recipients(client: Client) -> list[str]:
    """MSP staff and the client's Admins, active accounts only, each once."""
    staff = User.objects.filter(is_msp_staff=True, is_active=True).values_list("email", flat=True)
    admins = Membership.objects.filter(client=client, role=Role.ADMIN, user__is_active=True)
    return sorted(set(staff) | set(admins.values_list("user__email", flat=True)))


def send_notice(notice_id: str) -> bool:
    """Email one quota notice and audit it; False when it was already sent (a retried task sends nothing twice)."""
    notice = QuotaNotice.objects.select_related("client").filter(pk=notice_id, sent_at__isnull=True).first()
    if notice is None:
        return False
    client = notice.client
    stopped = notice.level == QuotaLevel.STOP
    subject = (
        f"{client.name}: monthly model quota reached, Gaby's model calls are stopped"
        if stopped
        else f"{client.name}: nearing its monthly model quota"
    )
    body = (
        f"{notice.detail}\n\n"
        + (
            "Tickets that need a model are escalated to a person until the month ends or the quota is raised.\n"
            if stopped
            else "Nothing is stopped yet; model calls stop when the cap is reached.\n"
        )
        + "MSP staff can change the plan on the portal's Costs page.\n"
    )
    to = recipients(client)
    if to:
        send_mail(subject=subject, message=body, from_email=None, recipient_list=to)
    with transaction.atomic():
        QuotaNotice.objects.filter(pk=notice.pk, sent_at__isnull=True).update(sent_at=timezone.now())
        record_for_client(
            client,
            event="billing.quota_notice",
            actor_kind=ActorKind.SYSTEM,
            actor_id="",
            payload={
                "level": notice.level,
                "month": f"{notice.month:%Y-%m}",
                "recipients": to,
                "detail": notice.detail,
            },
        )
    log.info("quota_notice_sent", client=client.schema_name, level=notice.level, recipients=len(to))
    return True
