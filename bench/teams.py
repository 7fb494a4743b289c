"""Microsoft Teams: N signed activities from N users through Gaby's endpoint and answered from knowledge, each
figure next to a floor measured in the same run.

Against the Bot Connector stand-in (``sandbox.teams``), in this process: each activity is signed by the emulator,
POSTed to ``/teams/messages`` through Django's request handling (the SDK's JwtTokenValidator, routing, the SDK's
turn with its Bot Connector member lookup, the foundation's ``receive``), then answered by the code the
``chat.answer_surface`` task runs, which posts and edits the reply at the stand-in. Every activity is then delivered
a second time (Teams' re-delivery): the posts must stay at N.

- Endpoint: request in → 202 out. Floors: the SDK's ``validate_token`` alone (keys cached), and the liveness probe
  (``/health``, answered by a middleware) through the same request handling.
- Reply: request in → the answer's first post received by the stand-in (endpoint + retrieval + post).

    .venv/bin/python bench/teams.py [--activities 100]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench._server import setup_django, summary

os.environ.setdefault("GABY_OUTBOUND_ALLOW", "127.0.0.0/8")  # the stand-in listens on loopback

TENANT = "be9c4000-0000-4000-8000-0000000be9c4"
RUNBOOK = """# VPN runbook

## Reset a user's VPN password

Open the VPN admin portal, find the user, choose Reset credentials and send the new profile securely.

## Printer paper jam

Open tray 2, remove the jammed sheet, close the tray and press resume.
"""


def bench_client() -> Any:
    from django_tenants.utils import tenant_context

    from apps.chat.models import Conversation
    from apps.knowledge.embeddings import provider_for
    from apps.knowledge.models import KnowledgeSource, SourceKind
    from apps.knowledge.services import create_source, sync_now
    from tenants.models import Client
    from tenants.services import create_client, ensure_public_tenant

    ensure_public_tenant()
    client = Client.objects.filter(slug="teamsbench").first() or create_client(name="Teams Bench", slug="teamsbench")
    with tenant_context(client):
        Conversation.objects.filter(surface="teams").delete()
        if not KnowledgeSource.objects.filter(name="Teams bench runbooks").exists():
            folder = Path(tempfile.mkdtemp(prefix="teams-bench-"))
            (folder / "vpn.md").write_text(RUNBOOK)
            source = create_source(
                kind=SourceKind.DIRECTORY, name="Teams bench runbooks", config={"path": str(folder)}, server_paths=True
            )
            sync_now(source=source, provider=provider_for("none"))
    return client


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--activities", type=int, default=100)
    options = parser.parse_args()
    os.environ.setdefault("GABY_KB_EMBEDDINGS", "none")
    setup_django()
    from django.test import Client as RequestClient
    from django.test.utils import override_settings
    from django_tenants.utils import tenant_context

    from apps.chat.models import DeliveryState, SurfaceDelivery
    from apps.chat.surfaces import answer, routing
    from apps.chat.surfaces.teams import auth
    from sandbox.teams import TeamsSandbox
    from sandbox.teams_emulator import TeamsEmulator, TeamsUser

    client = bench_client()
    routing.install(client=client, kind="teams", workspace_id=TENANT, display_name="Teams bench", bot_token="")
    app_id, secret = str(uuid.uuid4()), "bench-secret"
    users = [TeamsUser(str(uuid.uuid4()), f"User {n}") for n in range(options.activities)]
    members = {u.aad_object_id: {"email": f"user{n}@teams-bench.example"} for n, u in enumerate(users)}
    with (
        TeamsSandbox({app_id: secret}, members) as sandbox,
        override_settings(
            TEAMS_APP_ID=app_id,
            TEAMS_APP_PASSWORD=secret,
            TEAMS_TOKEN_URL=sandbox.token_url,
            TEAMS_OPENID_METADATA_URL=sandbox.metadata_url,
            TEAMS_SERVICE_URL=sandbox.service_url,
            TEAMS_CHECK_SERVICE_HOSTS=False,
            ALLOWED_HOSTS=["*"],
        ),
    ):
        emulator = TeamsEmulator(sandbox, app_id, TENANT)
        web = RequestClient(HTTP_HOST="localhost")
        activities = [emulator.personal(u, "How do I reset a user's VPN password?") for u in users]
        tokens = [emulator.token() for _ in activities]

        # warm-up: keys fetched, bot token issued, imports done
        warm = emulator.personal(TeamsUser(str(uuid.uuid4()), "Warm"), "hello")
        web.post(
            "/teams/messages",
            data=warm,
            content_type="application/json",
            headers={"Authorization": f"Bearer {emulator.token()}"},
        )

        endpoint, reply = [], []
        for activity, token in zip(activities, tokens, strict=True):
            started = time.perf_counter()
            response = web.post(
                "/teams/messages",
                data=activity,
                content_type="application/json",
                headers={"Authorization": f"Bearer {token}"},
            )
            endpoint.append((time.perf_counter() - started) * 1000)
            assert response.status_code == 202, response.content
            with tenant_context(client):
                queued = SurfaceDelivery.objects.filter(state=DeliveryState.QUEUED).values_list("pk", flat=True)
                for pk in list(queued):
                    answer.answer(str(pk))
            reply.append((time.perf_counter() - started) * 1000)
        posts_before = len(sandbox.posted)
        for activity, token in zip(activities, tokens, strict=True):  # Teams re-delivers: answered once
            web.post(
                "/teams/messages",
                data=activity,
                content_type="application/json",
                headers={"Authorization": f"Bearer {token}"},
            )
        with tenant_context(client):
            redelivered = SurfaceDelivery.objects.filter(state=DeliveryState.QUEUED).count()
        duplicates = len(sandbox.posted) - posts_before + redelivered

        checker = auth.validator()
        validate = []
        for token in tokens:
            started = time.perf_counter()
            asyncio.run(checker.validate_token(token))
            validate.append((time.perf_counter() - started) * 1000)
        bare = []
        for _ in activities:
            started = time.perf_counter()
            web.get("/health")
            bare.append((time.perf_counter() - started) * 1000)

    answered = sum(1 for a in activities if sandbox.replies_in(a["conversation"]["id"]))
    print(
        f"Teams: {options.activities} personal-chat questions from {options.activities} users, answered from knowledge"
    )
    print(f"  endpoint (request → 202)            {summary(endpoint)}")
    print(f"  reply (request → answer posted)     {summary(reply)}")
    print(f"  floor: SDK validate_token alone     {summary(validate)}")
    print(f"  floor: Django's /health probe        {summary(bare)}")
    print(f"  answered {answered}/{options.activities}; re-deliveries answered again: {duplicates}")


if __name__ == "__main__":
    main()
