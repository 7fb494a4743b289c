"""The request as Gaby's views see it, for type checkers."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.http import HttpRequest

if TYPE_CHECKING:
    from django_htmx.middleware import HtmxDetails

    from apps.accounts.models import Membership, User
    from tenants.models import Client


class GabyRequest(HttpRequest):
    tenant: Client
    membership: Membership | None
    htmx: HtmxDetails
    request_id: str
    user: User


class ClientRequest(GabyRequest):
    """A request on a client's domain that passed ClientAccessMiddleware: it always has a membership."""

    membership: Membership
