"""Connectors pages: Admins connect (test, then save), everyone reads, other clients get nothing."""

from __future__ import annotations

from typing import Any

import pytest
from django_tenants.utils import tenant_context

from apps.connectors import services
from apps.connectors.models import Connector, ConnectorEvent, EventKind, Kind
from apps.connectors.specs import Draft
from tests.connectors.conftest import VENV_BIN

TIME_SERVER = str(VENV_BIN / "mcp-server-time")
SECRET = "tok-never-shown-9000"


@pytest.fixture
def clock(hartwell: Any, people: dict[str, Any]) -> Connector:
    with tenant_context(hartwell):
        draft = Draft(kind=Kind.MCP_STDIO, name="Clock", command=TIME_SERVER, env={"API_TOKEN": SECRET})
        return services.connect(client=hartwell, draft=draft, actor=people["alice"])


def _urls(connector: Connector) -> tuple[list[str], list[str]]:
    pk = connector.pk
    reads = ["/connectors/", f"/connectors/{pk}/"]
    writes = [
        "/connectors/new/mcp/test/",
        "/connectors/new/mcp/save/",
        f"/connectors/{pk}/refresh/",
        f"/connectors/{pk}/check/",
        f"/connectors/{pk}/enabled/",
    ]
    return reads, writes


def test_carol_gets_403_on_every_hartwell_connectors_url(as_user: Any, clock: Connector) -> None:
    carol = as_user("carol", "hartwell")
    reads, writes = _urls(clock)
    for url in [*reads, "/connectors/new/mcp/"]:
        assert carol.get(url).status_code == 403, url
    for url in writes:
        assert carol.post(url, {"enabled": "0"}).status_code == 403, url
    # On her own client's domain, Hartwell's connector does not exist.
    assert as_user("carol", "dearborn").get(f"/connectors/{clock.pk}/").status_code == 404


def test_agents_read_but_do_not_change(as_user: Any, clock: Connector) -> None:
    bob = as_user("bob", "hartwell")
    reads, writes = _urls(clock)
    for url in reads:
        assert bob.get(url).status_code == 200, url
    assert bob.get("/connectors/new/mcp/").status_code == 403
    for url in writes:
        assert bob.post(url, {"enabled": "0"}).status_code == 403, url
    page = bob.get(f"/connectors/{clock.pk}/").content.decode()
    assert "get_current_time" in page and 'data-testid="revoke"' not in page


def test_secrets_are_never_rendered(as_user: Any, clock: Connector) -> None:
    alice = as_user("alice", "hartwell")
    for url in ("/connectors/", f"/connectors/{clock.pk}/"):
        body = alice.get(url).content.decode()
        assert SECRET not in body
    detail = alice.get(f"/connectors/{clock.pk}/").content.decode()
    assert "<code>env:API_TOKEN</code> ••• set" in detail


def test_admin_adds_an_mcp_server_in_the_ui(as_user: Any, hartwell: Any, people: dict[str, Any]) -> None:
    alice = as_user("alice", "hartwell")
    assert alice.get("/connectors/new/mcp/").status_code == 200
    form = {
        "name": "Clock",
        "transport": "stdio",
        "command": TIME_SERVER,
        "args": "--local-timezone UTC",
        "env": "TZ_HINT=1",
        "autonomy": "investigate",
        "scopes": "time:read",
    }
    probe = alice.post("/connectors/new/mcp/test/", form, HTTP_HX_REQUEST="true")
    assert probe.status_code == 200
    body = probe.content.decode()
    assert 'data-testid="probe-tool-get_current_time"' in body and "<html" not in body
    with tenant_context(hartwell):
        assert not Connector.objects.exists()  # testing stores nothing

    saved = alice.post("/connectors/new/mcp/save/", form, HTTP_HX_REQUEST="true")
    assert saved.status_code == 204
    with tenant_context(hartwell):
        connector = Connector.objects.get(name="Clock")
        assert saved["HX-Redirect"] == f"/connectors/{connector.pk}/"
        assert connector.args == ["--local-timezone", "UTC"] and connector.scopes == ["time:read"]
        consent = ConnectorEvent.objects.get(connector=connector, kind=EventKind.CONSENT)
        assert consent.actor_label == people["alice"].email and consent.detail["scopes"] == ["time:read"]
    listing = alice.get("/connectors/").content.decode()
    assert 'data-testid="status-clock">Healthy' in listing and 'data-testid="tools-clock">2 / 0' in listing


def test_bad_input_says_what_to_fix(as_user: Any) -> None:
    alice = as_user("alice", "hartwell")
    missing = alice.post(
        "/connectors/new/mcp/test/",
        {"name": "X", "transport": "stdio", "autonomy": "investigate"},
        HTTP_HX_REQUEST="true",
    )
    assert missing.status_code == 400 and "Enter the command that starts the MCP server." in missing.content.decode()
    shell = alice.post(
        "/connectors/new/mcp/test/",
        {"name": "X", "transport": "stdio", "command": "/bin/sh", "autonomy": "investigate"},
        HTTP_HX_REQUEST="true",
    )
    assert shell.status_code == 400 and "not on this install" in shell.content.decode()
    absent = alice.post(
        "/connectors/new/mcp/test/",
        {"name": "X", "transport": "stdio", "command": "mcp-server-nope", "autonomy": "investigate"},
        HTTP_HX_REQUEST="true",
    )
    assert absent.status_code == 502 and "was not found on the Gaby host" in absent.content.decode()
    env = alice.post(
        "/connectors/new/mcp/test/",
        {"name": "X", "transport": "stdio", "command": TIME_SERVER, "env": "no equals sign", "autonomy": "investigate"},
        HTTP_HX_REQUEST="true",
    )
    assert env.status_code == 400 and "NAME=value" in env.content.decode()
    assert alice.get("/connectors/new/nosuchkind/").status_code == 404


def test_revoke_and_check_now(as_user: Any, clock: Connector, hartwell: Any) -> None:
    alice = as_user("alice", "hartwell")
    checked = alice.post(f"/connectors/{clock.pk}/check/", HTTP_HX_REQUEST="true")
    assert checked.status_code == 200 and 'data-testid="connector-status">Healthy' in checked.content.decode()
    revoked = alice.post(f"/connectors/{clock.pk}/enabled/", {"enabled": "0"}, HTTP_HX_REQUEST="true")
    assert 'data-testid="connector-status">Disabled' in revoked.content.decode()
    with tenant_context(hartwell):
        with pytest.raises(services.ToolCallRefused, match="disabled"):
            services.execute_tool_call(
                connector=Connector.objects.get(pk=clock.pk),
                tool_name="get_current_time",
                arguments={"timezone": "UTC"},
                actor=None,
            )
        summaries = list(ConnectorEvent.objects.filter(kind=EventKind.CONSENT).values_list("summary", flat=True))
    assert any("revoked it" in s for s in summaries)


def test_portal_summarises_connector_health_per_client(as_user: Any, clock: Connector, hartwell: Any) -> None:
    with tenant_context(hartwell):
        Connector.objects.filter(pk=clock.pk).update(status="down")
    page = as_user("mona", "public").get("/").content.decode()
    assert "1 connector · <strong" in page and "1 failing" in page
    assert 'data-testid="connector-health-dearborn">no connectors' in page


def test_deleting_or_deactivating_a_user_keeps_their_connector_history(as_user: Any, hartwell: Any) -> None:
    """Users live in the public schema; a connector's events name them without a cross-schema constraint."""
    from django_tenants.utils import schema_context

    from apps.accounts.models import User

    gone = User.objects.create_user("gone@hartwell.example", password=None)
    idle = User.objects.create_user("idle@hartwell.example", password=None)
    with tenant_context(hartwell):
        clock = services.connect(
            client=hartwell, draft=Draft(kind=Kind.MCP_STDIO, name="Clock", command=TIME_SERVER), actor=gone
        )
        services.set_enabled(connector=clock, enabled=False, actor=idle)
    idle.is_active = False
    idle.save()
    gone_id = gone.pk
    with schema_context("public"):
        gone.delete()  # the public schema has no connector tables: nothing there may cascade into them
    page = as_user("alice", "hartwell").get(f"/connectors/{clock.pk}/")
    assert page.status_code == 200
    body = page.content.decode()
    assert "gone@hartwell.example connected Clock" in body and "idle@hartwell.example revoked it" in body
    with tenant_context(hartwell):
        assert ConnectorEvent.objects.filter(connector=clock, actor_id=gone_id).count() == 1
        assert Connector.objects.get(pk=clock.pk).created_by_id == gone_id
