"""Chat fixtures: committed widgets for Hartwell and Dearborn and a committed, full-text-indexed runbook source
in Hartwell, so consumers (other threads) and the browser's server (another process) see them."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from channels.testing import WebsocketCommunicator

from tests.knowledge.conftest import RUNBOOKS, write_tree

HOST_ORIGIN = "http://shop.hartwell.example"


@dataclass
class ChatWorld:
    hartwell_key: str
    dearborn_key: str
    hartwell_widget: Any
    dearborn_widget: Any


def clear_conversations(client: Any) -> None:
    from django.db.models import Q
    from django_tenants.utils import tenant_context

    from apps.chat.models import Conversation, OperatorPresence
    from apps.chat.services import CHAT_SOURCE_NAME
    from apps.tickets.models import Contact, SourceKind, Ticket, TicketSource

    chat_sources = Q(name=CHAT_SOURCE_NAME) | Q(kind=SourceKind.CHAT)  # the widget's, and Slack's and Teams' threads
    with tenant_context(client):
        Conversation.objects.all().delete()
        OperatorPresence.objects.all().delete()
        tickets = Ticket.objects.filter(source__in=TicketSource.objects.filter(chat_sources))
        contact_ids = list(tickets.exclude(contact=None).values_list("contact_id", flat=True))
        tickets.delete()
        Contact.objects.filter(pk__in=contact_ids).delete()
        TicketSource.objects.filter(chat_sources).delete()


@pytest.fixture(scope="module")
def chat_world(world: Any, django_db_blocker: Any, tmp_path_factory: Any) -> Iterator[ChatWorld]:
    from django_tenants.utils import tenant_context

    from apps.chat.models import Widget
    from apps.chat.widgets import create_widget
    from apps.knowledge.embeddings import provider_for
    from apps.knowledge.models import KnowledgeSource, SourceKind
    from apps.knowledge.services import create_source, sync_now
    from tests.agent.committed import _drop_audit_tail, _last_audit

    hartwell, dearborn = world.clients["hartwell"], world.clients["dearborn"]
    root = write_tree(Path(tmp_path_factory.mktemp("chat")) / "runbooks", RUNBOOKS)
    with django_db_blocker.unblock():
        # Slack and Teams threads commit tickets, replies and their audit events (a worker's path): all removed after.
        audit_marks = {client.schema_name: _last_audit(client.schema_name) for client in (hartwell, dearborn)}
        with tenant_context(hartwell):
            widget_a = create_widget(
                client=hartwell,
                changes={
                    "name": "Hartwell site",
                    "allowed_origins": [HOST_ORIGIN],
                    "persona_name": "Hartwell Helper",
                    "theme": {"accent": "#0b6e4f"},
                },
            )
            source = create_source(
                kind=SourceKind.DIRECTORY, name="Chat runbooks", config={"path": str(root)}, server_paths=True
            )
            sync_now(source=source, provider=provider_for("none"))
        with tenant_context(dearborn):
            widget_b = create_widget(
                client=dearborn, changes={"name": "Dearborn site", "allowed_origins": ["http://dearborn-cpa.example"]}
            )
    yield ChatWorld(widget_a.public_key, widget_b.public_key, widget_a, widget_b)
    with django_db_blocker.unblock():
        for client in (hartwell, dearborn):
            clear_conversations(client)
            with tenant_context(client):
                Widget.objects.all().delete()
        with tenant_context(hartwell):
            KnowledgeSource.objects.filter(name="Chat runbooks").delete()
        for schema, mark in audit_marks.items():
            _drop_audit_tail(schema, mark)


@pytest.fixture
def lexical_only(settings: Any) -> None:
    """Retrieval without the embedding model: the runbooks were indexed for full-text search only."""
    settings.KNOWLEDGE_EMBEDDINGS = "none"


def widget_socket(
    key: str, *, host: str = "hartwell.localhost", origin: str = HOST_ORIGIN, ip: str = "10.1.1.1"
) -> WebsocketCommunicator:
    from gaby_site.asgi import application

    headers = [(b"host", host.encode()), (b"origin", origin.encode())]
    communicator = WebsocketCommunicator(application, f"/ws/widget/?key={key}", headers=headers)
    communicator.scope["client"] = (ip, 50000)
    return communicator


async def events_until(communicator: WebsocketCommunicator, done: Any, timeout: float = 30) -> list[dict[str, Any]]:
    """Every event received up to and including the first one for which ``done(event)`` is true."""
    seen: list[dict[str, Any]] = []
    while True:
        event = await communicator.receive_json_from(timeout=timeout)
        seen.append(event)
        if done(event):
            return seen


def gaby_answer(event: dict[str, Any]) -> bool:
    return event.get("type") == "message" and event.get("role") in ("gaby", "system")


# --- Microsoft Teams (tests/chat/test_teams*.py; ids, users and helpers in teams_world.py) --------------------
@pytest.fixture
def teams(settings: Any) -> Iterator[Any]:
    """The Bot Connector stand-in, Gaby's Teams settings pointed at it (a fresh bot token for each test)."""
    from apps.chat.surfaces.teams.auth import bot_token
    from sandbox.teams import TeamsSandbox
    from tests.chat import teams_world as w

    members = {u.aad_object_id: {"email": u.email, "name": u.name} for u in (w.JANE, w.ALICE, w.STRANGER)}
    with TeamsSandbox({w.APP_ID: w.APP_SECRET}, members) as sandbox:
        settings.TEAMS_APP_ID = w.APP_ID
        settings.TEAMS_APP_PASSWORD = w.APP_SECRET
        settings.TEAMS_TOKEN_URL = sandbox.token_url
        settings.TEAMS_OPENID_METADATA_URL = sandbox.metadata_url
        settings.TEAMS_SERVICE_URL = sandbox.service_url
        settings.TEAMS_CHECK_SERVICE_HOSTS = False
        bot_token._token = None  # a token of another test's stand-in is no good here
        yield sandbox


@pytest.fixture
def installed(hartwell: Any) -> Any:
    """Gaby installed for Hartwell's Teams tenant, listening in one channel."""
    from apps.chat.surfaces import routing
    from tests.chat import teams_world as w

    return routing.install(
        client=hartwell,
        kind="teams",
        workspace_id=w.TENANT,
        display_name="Hartwell (Teams)",
        bot_token="",
        channels=[w.CHANNEL],
    )


@pytest.fixture
def emulator(teams: Any) -> Any:
    from sandbox.teams_emulator import TeamsEmulator
    from tests.chat import teams_world as w

    return TeamsEmulator(teams, w.APP_ID, w.TENANT)


@pytest.fixture
def answering(chat_world: ChatWorld, lexical_only: None, installed: Any) -> None:
    """Hartwell's runbooks indexed for full-text search, and Gaby installed in Hartwell's Teams tenant."""
