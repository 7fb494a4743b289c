"""A client's monthly model quota (its plan's caps, tenants/plans.py): a hard stop at the cap, a notice before it.

The gateway holds one ``Quota`` per gateway (one investigation, one chat answer, one embedding batch) and asks it
before every model call. What each call costs:

- an uncapped client (no plan, or a plan with no caps): nothing after the first call, which reads the plan (one
  query per gateway);
- a capped client: one Redis ``HMGET`` per call for the month's tally, and one ``HINCRBY`` script per recorded
  call. The tally is read from the ``LLMCall`` records (one aggregate over the month) when Redis has none, and kept
  at most ``TALLY_SECONDS``: calls recorded by another process between that read and the key being set (or in a
  transaction later rolled back) can skew it until it is read again, so the drift is bounded by an hour.

The cap is checked before a call, so the call that crosses it completes and the next one is refused: a month can
end at most one call's worth above its cap.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import structlog
from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import Sum
from django.utils import timezone

from apps.core.redis_clients import shared_client
from apps.core.tasks import enqueue
from apps.llm.budget import QuotaExceeded
from apps.llm.models import LLMCall
from tenants.models import Client, QuotaLevel, QuotaNotice
from tenants.plans import Limits, limits_for

log = structlog.get_logger(__name__)
TALLY_SECONDS = 3600
NOTICE_KEY_SECONDS = 40 * 86400  # longer than any month: the notice's key outlives the month it is for
MICRO = Decimal("0.000001")

# Add to the tally only when it exists: a missing tally is read from the records, which already count this call.
_ADD = """
if redis.call('EXISTS', KEYS[1]) == 1 then
  redis.call('HINCRBY', KEYS[1], 'tokens', ARGV[1])
  redis.call('HINCRBY', KEYS[1], 'micro_usd', ARGV[2])
end
return 0
"""


def month_of(moment: datetime) -> date:
    return moment.astimezone(UTC).date().replace(day=1)


def _key(schema: str, month: date) -> str:
    return f"gaby:llm:month:{schema}:{month:%Y-%m}"


def month_tally(schema: str, month: date) -> tuple[int, Decimal]:
    """Tokens and dollars recorded this month in the current schema (``schema``'s), from Redis or the records."""
    redis = shared_client(settings.REDIS_URL)
    key = _key(schema, month)
    tokens, micro = redis.hmget(key, ["tokens", "micro_usd"])
    if tokens is not None and micro is not None:
        return int(tokens), Decimal(int(micro)) * MICRO
    start = datetime(month.year, month.month, 1, tzinfo=UTC)
    totals = LLMCall.objects.filter(created_at__gte=start).aggregate(
        tokens=Sum("input_tokens") + Sum("output_tokens"), usd=Sum("cost_usd")
    )
    spent_tokens, usd = int(totals["tokens"] or 0), Decimal(totals["usd"] or 0)
    with redis.pipeline() as pipe:
        pipe.hsetnx(key, "tokens", spent_tokens)
        pipe.hsetnx(key, "micro_usd", int(usd / MICRO))
        pipe.expire(key, TALLY_SECONDS)
        pipe.execute()
    return spent_tokens, usd


def add_to_tally(schema: str, month: date, tokens: int, usd: Decimal) -> None:
    redis = shared_client(settings.REDIS_URL)
    redis.eval(_ADD, 1, _key(schema, month), int(tokens), int(usd / MICRO))


class Quota:
    """One client's caps, read once; ``check`` before a model call, ``add`` after one is recorded."""

    def __init__(self, client: Client) -> None:
        self.client = client
        self._limits: Limits | None = None

    @property
    def limits(self) -> Limits:
        if self._limits is None:
            self._limits = limits_for(self.client)
        return self._limits

    @property
    def schema(self) -> str:
        return str(getattr(connection, "schema_name", ""))  # django-tenants' connection knows its schema

    def check(self) -> None:
        """Raise ``QuotaExceeded`` when the month's cap is reached; tell people once when it nears."""
        limits = self.limits
        if not limits.capped:
            return
        month = month_of(timezone.now())
        tokens, usd = month_tally(self.schema, month)
        used = _share(tokens, limits.monthly_tokens, usd, limits.monthly_usd)
        if used >= 1:
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
        if self.limits.capped and (tokens or usd):
            add_to_tally(self.schema, month_of(timezone.now()), tokens, usd)

    def _reason(self, limits: Limits, tokens: int, usd: Decimal, month: date) -> str:
        following = date(month.year + (month.month == 12), month.month % 12 + 1, 1)
        return (
            f"Monthly model quota reached for {self.client.name} ({limits.plan} plan): "
            f"{_spent(tokens, limits.monthly_tokens, usd, limits.monthly_usd)}. Model calls are stopped until "
            f"{following:%B %-d} (UTC) or until MSP staff raise the quota; a person takes this ticket."
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
