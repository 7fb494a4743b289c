"""Installing Slack for a client (OAuth v2 against the stand-in over real HTTP), its settings page, and ownership:
another client's Admin can neither see Hartwell's Slack install nor its Slack conversations, nor take its workspace."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from sandbox.slack import SlackSandbox
from tests.chat.test_slack import SIGNING_SECRET, deliver, slack, wait_for, wired  # noqa: F401 (fixtures)
from tests.conftest import browser_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def oauth(wired: SlackSandbox, settings: Any) -> SlackSandbox:  # noqa: F811
    settings.SLACK_CLIENT_ID = wired.client_id
    settings.SLACK_CLIENT_SECRET = wired.client_secret
    settings.SLACK_SIGNING_SECRET = SIGNING_SECRET
    return wired


def _start(user: Any, host: str) -> dict[str, str]:
    response = browser_for(user, host).post("/chat/slack/install/")
    assert response.status_code == 302, response.content
    query = parse_qs(urlsplit(response["Location"]).query)
    assert "users:read.email" in query["scope"][0] and "app_mentions:read" in query["scope"][0]
    return {"state": query["state"][0], "redirect_uri": query["redirect_uri"][0]}


def test_an_admin_installs_slack_through_oauth_and_picks_channels(
    oauth: SlackSandbox, people: Any, hartwell: Any
) -> None:
    from django_tenants.utils import tenant_context

    from apps.chat.models import ChatSurfaceInstall
    from tenants.models import SurfaceRoute

    started = _start(people["alice"], "hartwell.localhost")
    code = oauth.authorize(started["redirect_uri"])
    callback = urlsplit(started["redirect_uri"]).path
    response = browser_for(people["alice"], "localhost").get(callback, {"code": code, "state": started["state"]})
    assert response.status_code == 302 and urlsplit(response["Location"]).hostname == "hartwell.localhost"
    assert oauth.calls("POST", "/api/oauth.v2.access")
    with tenant_context(hartwell):
        row = ChatSurfaceInstall.objects.get(kind="slack", workspace_id=oauth.team["id"])
        assert row.sealed_bot_token and oauth.bot_token not in row.sealed_bot_token
    assert SurfaceRoute.objects.filter(workspace_id=oauth.team["id"], client=hartwell).exists()
    page = browser_for(people["alice"], "hartwell.localhost").get("/chat/slack/")
    assert page.status_code == 200 and "#help-desk" in page.content.decode()
    saved = browser_for(people["alice"], "hartwell.localhost").post(
        "/chat/slack/settings/",
        {"channels": ["C0HELPDESK", "C0RANDOM"], "access": "listed", "allowed": "acme.test", "enabled": "on"},
    )
    assert saved.status_code == 302
    bad = browser_for(people["alice"], "hartwell.localhost").post(
        "/chat/slack/settings/", {"channels": ["C0HELPDESK"], "access": "listed", "allowed": "", "enabled": "on"}
    )
    assert bad.status_code == 400 and "at least one email or domain" in bad.content.decode()
    with tenant_context(hartwell):
        row.refresh_from_db()
        assert row.channels == ["C0HELPDESK", "C0RANDOM"] and row.allows_email("ana@acme.test")
        assert not row.allows_email("eve@evil.test")
        row.channels, row.access, row.allowed = ["C0HELPDESK"], "everyone", []
        row.save()


def test_a_replayed_or_foreign_state_is_refused(oauth: SlackSandbox, people: Any) -> None:
    started = _start(people["alice"], "hartwell.localhost")
    code = oauth.authorize(started["redirect_uri"])
    callback = urlsplit(started["redirect_uri"]).path
    as_carol = browser_for(people["carol"], "localhost").get(callback, {"code": code, "state": started["state"]})
    assert as_carol.status_code == 400 and "Sign in as the person who started" in as_carol.content.decode()
    forged = browser_for(people["alice"], "localhost").get(callback, {"code": code, "state": "x" + started["state"]})
    assert forged.status_code == 400


def test_another_clients_admin_cannot_take_the_workspace_or_see_its_conversations(
    oauth: SlackSandbox, people: Any, hartwell: Any
) -> None:
    from django_tenants.utils import tenant_context

    from apps.chat.models import Conversation

    started = _start(people["carol"], "dearborn.localhost")
    code = oauth.authorize(started["redirect_uri"])
    callback = urlsplit(started["redirect_uri"]).path
    taken = browser_for(people["carol"], "localhost").get(callback, {"code": code, "state": started["state"]})
    assert taken.status_code == 400 and "already connected to another client" in taken.content.decode()
    assert browser_for(people["carol"], "hartwell.localhost").get("/chat/slack/").status_code in (403, 404)
    assert browser_for(people["bob"], "hartwell.localhost").get("/chat/slack/").status_code == 403  # Agents: no
    event = oauth.direct_message(user="U0ALICE", text="printer paper jam")
    deliver(event)
    wait_for(lambda: oauth.thread("D0ALICE"))
    with tenant_context(hartwell):
        conversation = Conversation.objects.filter(surface="slack").first()
    assert conversation is not None
    url = f"/chat/c/{conversation.pk}/"
    assert browser_for(people["alice"], "hartwell.localhost").get(url).status_code == 200
    assert browser_for(people["carol"], "hartwell.localhost").get(url).status_code in (403, 404)
    assert browser_for(people["carol"], "dearborn.localhost").get(url).status_code == 404
    inbox = browser_for(people["alice"], "hartwell.localhost").get("/inbox/?source=chat-slack")
    assert inbox.status_code == 200 and 'data-testid="source-badge">Slack' in inbox.content.decode()
