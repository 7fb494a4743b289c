"""What a client's plan allows: its monthly model caps, when to warn, and its operator seats (MSP-10, LLM-5).

Read by the LLM gateway before model calls (apps/llm/quota.py) and by membership changes (apps/accounts/services.py).
A client with no plan assigned has no caps.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from tenants.models import Client, ClientPlan


@dataclass(frozen=True)
class Limits:
    plan: str = ""
    monthly_tokens: int | None = None
    monthly_usd: Decimal | None = None
    seats: int | None = None
    notice_percent: int = 80
    stop_percent: int = 100  # the hard stop, as a share of the caps (above 100: overage allowed)

    @property
    def capped(self) -> bool:
        """Whether model calls need counting at all: an uncapped client pays no tally read per call."""
        return self.monthly_tokens is not None or self.monthly_usd is not None


NO_LIMITS = Limits()


def limits_for(client: Client) -> Limits:
    """The client's effective limits: its overrides, else its plan's (one query)."""
    return limits_of(ClientPlan.objects.select_related("plan").filter(client_id=client.pk).first())


def limits_of(assigned: ClientPlan | None) -> Limits:
    """The limits of an assignment already read (its plan with it), e.g. every client's at once."""
    if assigned is None:
        return NO_LIMITS
    plan = assigned.plan
    return Limits(
        plan=plan.name,
        monthly_tokens=assigned.monthly_tokens if assigned.monthly_tokens is not None else plan.monthly_tokens,
        monthly_usd=assigned.monthly_usd if assigned.monthly_usd is not None else plan.monthly_usd,
        seats=assigned.seats if assigned.seats is not None else plan.seats,
        notice_percent=plan.notice_percent,
        stop_percent=plan.stop_percent,
    )
