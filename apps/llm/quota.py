"""A client's monthly model quota (its plan's caps, tenants/plans.py): a hard stop at the cap, a notice before it.

The gateway holds one ``Quota`` per gateway (one investigation, one chat answer) and the knowledge base's embedder
one per provider (every batch of a sync), and asks it before every model call. The month's use is the client's row
of the monthly rollup (apps/llm/rollup.py), which ``add`` writes in the transaction that records the call. What
each check costs:

- an uncapped client (no plan, or a plan with no caps): nothing, once the plan is read (one query, read again
  after ``LIMITS_SECONDS`` so a quota raised by MSP staff reaches a long-lived embedder);
- a capped client: one indexed read of the month's row.

The hard stop is at the plan's ``stop_percent`` of the caps (100: at the cap; above it, overage is allowed up to
there, as PENNY's plans allow 150%). It is checked before a call, so the call that crosses it completes and the
next one is refused: a month can end at most one call's worth above its stop (more only when several calls of one
client run at the same moment).
"""

from __future__ import annotations

import time
from datetime import date
from decimal import Decimal

import structlog
from django.conf import settings
from django.db import IntegrityError, transaction

from apps.core.months import next_month, this_month
from apps.core.redis_clients import shared_client
from apps.core.tasks import enqueue
from apps.llm import rollup
from apps.llm.budget import QuotaExceeded
from tenants.models import Client, QuotaLevel, QuotaNotice
from tenants.plans import Limits, limits_for

log = structlog.get_logger(__name__)
LIMITS_SECONDS = 60.0
NOTICE_KEY_SECONDS = 40 * 86400  # longer than any month: the notice's key outlives the month it is for


class Quota:
    """One client's caps; ``check`` before a model call, ``add`` in the transaction that records one."""

    def __init__(self, client: Client) -> None:
        self.client = client
        self._limits: Limits | None = None
        self._read_at = 0.0

    @property
    def limits(self) -> Limits:
        if self._limits is None or time.monotonic() - self._read_at > LIMITS_SECONDS:
            self._limits, self._read_at = limits_for(self.client), time.monotonic()
        return self._limits

    @property
    def schema(self) -> str:
        return str(self.client.schema_name)

    def check(self) -> None:
        """Raise ``QuotaExceeded`` when the month's cap is reached; tell people once when it nears."""
        limits = self.limits
        if not limits.capped:
            return
        month = this_month()
        used_so_far = rollup.month_usage(self.client.pk, month)
        tokens, usd = used_so_far.tokens, used_so_far.cost_usd
        used = _share(tokens, limits.monthly_tokens, usd, limits.monthly_usd)
        if used * 100 >= limits.stop_percent:
            reason = self._reason(limits, tokens, usd, month)
            _notify(self.client, month, QuotaLevel.STOP, reason, self.schema)
            raise QuotaExceeded(reason)
        if used * 100 >= limits.notice_percent:
            detail = (
                f"{self.client.name} has used {used:.0%} of its {limits.plan} plan's monthly model quota "
                f"({_spent(tokens, limits.monthly_tokens, usd, limits.monthly_usd)})."
            )
            _notify(self.client, month, QuotaLevel.NOTICE, detail, self.schema)

    def add(self, tokens: int, usd: Decimal) -> None:
        """Count a recorded call in the client's month (every client's: the portal and costs page read it too)."""
        rollup.record(self.client.pk, this_month(), tokens=tokens, cost_usd=usd)

    def _reason(self, limits: Limits, tokens: int, usd: Decimal, month: date) -> str:
        return (
            f"Monthly model quota reached for {self.client.name} ({limits.plan} plan): "
            f"{_spent(tokens, limits.monthly_tokens, usd, limits.monthly_usd)}"
            f"{f' ({limits.stop_percent}% of it, overage included)' if limits.stop_percent > 100 else ''}. "
            "Model calls are stopped until "
            f"{next_month(month):%B %-d} (UTC) or until MSP staff raise the quota; a person takes this ticket."
        )


def _share(tokens: int, token_cap: int | None, usd: Decimal, usd_cap: Decimal | None) -> float:
    shares = []
    if token_cap is not None:
        shares.append(tokens / token_cap if token_cap else float("inf"))
    if usd_cap is not None:
        shares.append(float(usd / usd_cap) if usd_cap else float("inf"))
    return max(shares, default=0.0)


def _spent(tokens: int, token_cap: int | None, usd: Decimal, usd_cap: Decimal | None) -> str:
    parts = []
    if token_cap is not None:
        parts.append(f"{tokens:,} of {token_cap:,} tokens")
    if usd_cap is not None:
        parts.append(f"${usd.quantize(Decimal('0.01'))} of ${usd_cap}")
    return " and ".join(parts)


def _notify(client: Client, month: date, level: str, detail: str, schema: str) -> None:
    """Once per client, month and level: a Redis key spares the database on every later call, and the unique
    ``QuotaNotice`` row decides (a flushed Redis sends nothing twice). The key is set only once the row is
    committed: set before, a rolled-back transaction (the investigation failed after the check) would leave a key
    saying "sent" for a notice that no longer exists, and the month would pass in silence. The billing app's task
    tells MSP staff and the client's Admins (apps/billing/quota_notices.py)."""
    redis = shared_client(settings.REDIS_URL)
    key = f"gaby:quota-notice:{schema}:{month:%Y-%m}:{level}"
    if redis.exists(key):
        return
    try:
        with transaction.atomic():
            notice, created = QuotaNotice.objects.get_or_create(
                client_id=client.pk, month=month, level=level, defaults={"detail": detail[:2000]}
            )
    except IntegrityError:  # another process created it between the read and the insert: it sends it
        return
    transaction.on_commit(lambda: redis.set(key, 1, ex=NOTICE_KEY_SECONDS))
    if created:
        log.info("quota_notice", client=schema, level=level, month=f"{month:%Y-%m}")
        notice_id = str(notice.pk)
        transaction.on_commit(lambda: enqueue("billing.quota_notice", notice_id))
