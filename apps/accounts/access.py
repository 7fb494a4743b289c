"""The one place that decides who may open a page of a client (GOV-2).

``ClientAccessMiddleware`` runs for every view: on a client's domain it needs a signed-in user with
a Membership of that client (403 otherwise), and attaches it as ``request.membership``. A view
declares a higher bar with ``@require_role``; writes (POST, PUT, PATCH, DELETE) need at least Agent
everywhere, so a Viewer can read every page and change nothing. On the MSP portal a signed-in user
is enough, and ``@msp_staff_required`` guards the portal's management pages.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from ninja.errors import HttpError

from apps.accounts.models import Membership, Role, User
from apps.core.logging import bind_client
from tenants.models import Client

View = TypeVar("View", bound=Callable[..., HttpResponseBase])

# Pages with their own guards: sign-in/out and password reset (allauth), the Django admin
# (GabyAdminSite.has_permission), static files.
EXEMPT_PREFIXES = ("/accounts/", "/admin/", "/static/")
SAFE_METHODS = {"GET", "HEAD", "OPTIONS", "TRACE"}


def membership_for(user: Any, client: Client) -> Membership | None:
    """The user's membership of ``client``, or None; the scoped accessor every path uses."""
    if not getattr(user, "is_authenticated", False) or not user.is_active or client.is_public:
        return None
    return Membership.objects.select_related("client").filter(user=user, client=client).first()


def required_role(view_func: Callable[..., Any], method: str) -> str:
    declared = getattr(view_func, "gaby_required_role", Role.VIEWER)
    if method not in SAFE_METHODS and Role.rank(declared) < Role.rank(Role.AGENT):
        return Role.AGENT
    return str(declared)


def public_view(view_func: View) -> View:
    """Mark a view that anyone may open (health probes, the future chat widget's endpoints)."""
    view_func.gaby_public = True  # type: ignore[attr-defined]
    return view_func


def require_role(role: str) -> Callable[[View], View]:
    """Declare the least role a client view needs; checked by the middleware and again here."""

    def decorator(view_func: View) -> View:
        @wraps(view_func)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
            membership = getattr(request, "membership", None)
            if membership is None or not membership.allows(required_role(wrapped, request.method or "GET")):
                raise PermissionDenied(f"This page needs the {Role(role).label} role.")
            return view_func(request, *args, **kwargs)

        wrapped.gaby_required_role = role  # type: ignore[attr-defined]
        return wrapped  # type: ignore[return-value]

    return decorator


def msp_staff_required(view_func: View) -> View:
    @wraps(view_func)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        user = request.user
        if not (user.is_authenticated and isinstance(user, User) and user.is_msp_staff):
            raise PermissionDenied("Only MSP staff can manage clients.")
        return view_func(request, *args, **kwargs)

    return wrapped  # type: ignore[return-value]


class ClientAccessMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request.membership = None  # type: ignore[attr-defined]
        tenant = getattr(request, "tenant", None)
        bind_client(getattr(tenant, "schema_name", None))
        return self.get_response(request)

    def process_view(
        self, request: HttpRequest, view_func: Callable[..., Any], args: Any, kwargs: Any
    ) -> HttpResponse | None:
        if getattr(view_func, "gaby_public", False) or request.path.startswith(EXEMPT_PREFIXES):
            return None
        user = request.user
        if not user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        tenant: Client = request.tenant  # type: ignore[attr-defined]
        if tenant.is_public:
            return None
        membership = membership_for(user, tenant)
        if membership is None:
            raise PermissionDenied(f"You are not a member of {tenant.name}. Ask one of its admins to add you.")
        needed = required_role(view_func, request.method or "GET")
        if not membership.allows(needed):
            raise PermissionDenied(
                f"This needs the {Role(needed).label} role; you are {membership.get_role_display()} of {tenant.name}."
            )
        request.membership = membership  # type: ignore[attr-defined]
        return None


def require_api_role(request: HttpRequest, role: str) -> None:
    """For operations that need more than the default (Agent for writes): e.g. Admin."""
    membership = getattr(request, "membership", None)
    if membership is None or not membership.allows(role):
        raise HttpError(403, f"This needs the {Role(role).label} role.")
