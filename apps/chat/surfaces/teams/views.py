"""The Teams messaging endpoint (the Azure Bot's "Messaging endpoint": ``https://<portal host>/teams/messages``).

Order matters: the bearer token is checked first (401, nothing read further), then the activity's tenant is routed
to a client (403 and a log line for a tenant no client installed Gaby for), then the SDK runs the turn.
"""

from __future__ import annotations

import json
import logging
from urllib.parse import urlsplit

from asgiref.sync import sync_to_async
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from apps.accounts.access import public_view
from apps.chat.surfaces.teams import routing

log = logging.getLogger(__name__)
MAX_BODY = 256 * 1024  # Teams activities are a few KB; a 256 KB body is not one


def _same_host(claimed: str, given: str) -> bool:
    return bool(claimed) and urlsplit(claimed).netloc.lower() == urlsplit(given).netloc.lower()


@public_view  # type: ignore[type-var]  # an async view; no Gaby session: the channel's token is the credential
@csrf_exempt  # the channel signs its requests (a JWT checked before anything is read)
@require_POST
async def messages(request: HttpRequest) -> HttpResponse:
    # The SDK is imported here, not when the URLs load: a process that never serves Teams never pays for it.
    from apps.chat.surfaces.teams.auth import TeamsAuthError, TeamsNotConfigured, authenticate
    from apps.chat.surfaces.teams.bot import GabyTeamsBot
    from apps.chat.surfaces.teams.host import DjangoActivityRequest, GabyTeamsAdapter

    try:
        claims = await authenticate(request.headers.get("Authorization", ""))
    except TeamsNotConfigured as exc:
        return JsonResponse({"error": str(exc)}, status=503)
    except TeamsAuthError as exc:
        log.warning("teams request refused: %s", exc)
        return JsonResponse({"error": "Unauthorized"}, status=401)
    if len(request.body) > MAX_BODY:
        return JsonResponse({"error": "The activity is too large."}, status=413)
    try:
        body = json.loads(request.body)
        assert isinstance(body, dict)
    except (ValueError, AssertionError):
        return JsonResponse({"error": "The body must be a JSON activity object."}, status=400)
    service_url = str(body.get("serviceUrl") or "")
    if not _same_host(str(claims.get_claim_value("serviceurl") or ""), service_url):
        log.warning("teams activity refused: serviceUrl %s is not the one its token names", service_url)
        return JsonResponse({"error": "The activity's serviceUrl is not the one its token was issued for."}, status=401)
    tenant = str(((body.get("channelData") or {}).get("tenant") or {}).get("id") or "")
    tenant = tenant or str((body.get("conversation") or {}).get("tenantId") or "")
    client = await sync_to_async(routing.client_for)(tenant)
    if client is None:
        log.warning("teams activity from an unknown tenant refused", extra={"tenant": tenant[:100]})
        return JsonResponse({"error": f"Tenant {tenant or '(none)'} has no Gaby install."}, status=403)
    bot = GabyTeamsBot(client)
    response = await GabyTeamsAdapter().process_request(DjangoActivityRequest(request, claims), bot)
    if response.body is None:
        return HttpResponse(status=response.status_code)
    return JsonResponse(response.body, status=response.status_code, safe=False)
