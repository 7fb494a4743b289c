"""What the Teams tests share besides their fixtures (in conftest.py): the ids and users, delivering a signed
activity through Django, and running the answer task's body."""

from __future__ import annotations

from typing import Any

from django.test import Client as HttpClient
from django_tenants.utils import tenant_context

from sandbox.teams_emulator import TeamsEmulator, TeamsUser

APP_ID = "6a1f4c3e-0b7d-4c55-9d8e-2f0a1b2c3d4e"
APP_SECRET = "bot-secret-for-tests"
TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47"
OTHER_TENANT = "0f0e0d0c-0b0a-4909-8807-060504030201"
ENDPOINT = "/teams/messages"
CHANNEL = "19:general@thread.tacv2"
JANE = TeamsUser("1f2e3d4c-5b6a-4789-8abc-def012345678", "Jane Client", "jane@hartwell.example")
NOBODY = TeamsUser("99999999-5b6a-4789-8abc-def012345678", "No Email")
ALICE = TeamsUser("a11ce000-5b6a-4789-8abc-def012345678", "Alice Hartwell", "alice@hartwell.example")
STRANGER = TeamsUser("5742a6e2-5b6a-4789-8abc-def012345678", "Stranger", "stranger@hartwell.example")


def deliver(emulator: TeamsEmulator, activity: dict[str, Any], *, token: str | None = None) -> Any:
    web = HttpClient(HTTP_HOST="localhost")
    headers = {} if token == "" else {"Authorization": f"Bearer {token if token is not None else emulator.token()}"}
    return web.post(ENDPOINT, data=activity, content_type="application/json", headers=headers)


def answer_pending(client: Any) -> list[str]:
    """Run the answer task's body (``chat.answer_surface``) for each queued delivery, in the client's schema."""
    from apps.chat.models import DeliveryState, SurfaceDelivery
    from apps.chat.surfaces import answer

    with tenant_context(client):
        queued = list(SurfaceDelivery.objects.filter(state=DeliveryState.QUEUED).values_list("pk", flat=True))
        return [answer.answer(str(pk)) for pk in queued]
