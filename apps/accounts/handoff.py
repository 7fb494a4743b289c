"""Carry a signed-in user from one Gaby domain to another (portal ⇄ clients) without a second sign-in.

Needed where the session cookie cannot span subdomains (``*.localhost`` in development) and
harmless where it can. The token is signed with SECRET_KEY, names the user, the target and the page to
open there (``?next=/inbox/t/<id>/``: a path of the target's own site, nothing else), expires after a
minute and is accepted once; the target's own access rules (membership) still apply.
"""

from __future__ import annotations

import secrets

from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.core import signing
from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse, HttpResponseBadRequest, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.utils.http import url_has_allowed_host_and_scheme

from apps.accounts.access import membership_for
from apps.accounts.context import request_scheme_and_port
from apps.accounts.models import User
from apps.core.http import GabyRequest
from tenants.addresses import client_url, portal_url
from tenants.models import Client

SALT = "gaby.accounts.handoff"
MAX_AGE_SECONDS = 60
PORTAL = "portal"


def local_path(value: str) -> str:
    """``value`` when it is a path on the same site ("/inbox/"), else "/": never another host, never a scheme."""
    if (
        value.startswith("/")
        and not value.startswith("//")
        and "\\" not in value
        and url_has_allowed_host_and_scheme(value, allowed_hosts=None)
    ):
        return value
    return "/"


@login_required
def hand_off(request: GabyRequest, target: str) -> HttpResponse:
    """Sign the current user into ``target`` (a client slug, or ``portal``) and go there."""
    scheme, port = request_scheme_and_port(request)
    if target == PORTAL:
        destination = portal_url(scheme=scheme, port=port)
        client_id = PORTAL
    else:
        client = get_object_or_404(Client.objects.exclude(schema_name="public"), slug=target, is_active=True)
        if membership_for(request.user, client) is None:
            raise PermissionDenied(f"You are not a member of {client.name}.")
        destination = client_url(client, scheme=scheme, port=port)
        client_id = str(client.pk)
    page = local_path(request.GET.get("next", "/"))
    token = signing.dumps(
        {"u": str(request.user.pk), "c": client_id, "n": secrets.token_urlsafe(12), "p": page}, salt=SALT
    )
    return HttpResponseRedirect(f"{destination}accounts/handoff/accept/?token={token}")


def accept_hand_off(request: GabyRequest) -> HttpResponse:
    try:
        data = signing.loads(request.GET.get("token", ""), salt=SALT, max_age=MAX_AGE_SECONDS)
    except signing.SignatureExpired:
        return HttpResponseBadRequest("This sign-in link has expired: go back and pick the client again.")
    except signing.BadSignature:
        return HttpResponseBadRequest("This sign-in link is not valid: sign in with your email and password.")
    expected = PORTAL if request.tenant.is_public else str(request.tenant.pk)
    if data.get("c") != expected:
        return HttpResponseBadRequest("This sign-in link was made for another Gaby address.")
    if not cache.add(f"gaby:handoff:{data['n']}", 1, timeout=MAX_AGE_SECONDS * 2):
        return HttpResponseBadRequest("This sign-in link was already used: sign in with your email and password.")
    user = User.objects.filter(pk=data["u"], is_active=True).first()
    if user is None:
        return HttpResponseBadRequest("This account is no longer active.")
    login(request, user, backend="django.contrib.auth.backends.ModelBackend")
    return HttpResponseRedirect(local_path(str(data.get("p", "/"))))
