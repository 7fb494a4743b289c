"""The connector scope and autonomy editor: admins only, audited, in the consent log, read by the gate."""

from typing import Any

from django.db import connection

from apps.auditlog.models import AuditEvent
from apps.connectors.models import ConnectorEvent, ConnectorTool, EventKind
from apps.safety.enforcement import CallContext, run_tool
from apps.safety.models import ActionStatus
from tenants.models import Client


def test_the_editor_shows_each_tools_classification_with_its_origin(
    ledger: Any, in_hartwell: Client, as_user: Any
) -> None:
    connector = ledger()
    ConnectorTool.objects.filter(connector=connector, name="purge").update(read_only_hint=None)
    page = as_user("alice", "hartwell").get(f"/safety/connectors/{connector.pk}/").content.decode()
    assert 'data-testid="class-balance">read' in page and "annotation: MCP annotation readOnlyHint: true" in page
    assert 'data-testid="class-credit">write' in page and "readOnlyHint: false" in page
    assert 'data-testid="class-purge">write' in page and "unknown: No readOnlyHint from the server" in page
    assert (
        f'data-testid="edit-{connector.pk}"' in as_user("alice", "hartwell").get("/safety/connectors/").content.decode()
    )


def test_changing_autonomy_scope_and_production_is_audited_and_consented(
    ledger: Any, in_hartwell: Client, as_user: Any, people: dict[str, Any]
) -> None:
    connector = ledger(scope="read_only", autonomy="investigate")
    alice = as_user("alice", "hartwell")
    form = {"autonomy": "act", "scope": "read_write", "is_production": "on"}
    response = alice.post(f"/safety/connectors/{connector.pk}/", form, HTTP_HX_REQUEST="true")
    assert response.status_code == 200 and b"Saved: autonomy, scope, is_production." in response.content
    connector.refresh_from_db()
    assert (connector.autonomy, connector.scope, connector.is_production) == ("act", "read_write", True)
    event = AuditEvent.objects.get(event="safety.connector_configured")
    assert event.actor_id == str(people["alice"].pk)
    assert event.payload["changes"]["scope"] == {"from": "read_only", "to": "read_write"}
    consent = ConnectorEvent.objects.filter(connector=connector, kind=EventKind.CONSENT).first()
    assert consent is not None and "autonomy investigate → act" in consent.summary
    assert consent.actor_label == "alice@hartwell.example"
    bad = alice.post(f"/safety/connectors/{connector.pk}/", {"autonomy": "yolo", "scope": "read_write"})
    assert bad.status_code == 400 and b"Select a valid choice" in bad.content


def test_a_tool_scope_override_is_what_the_gate_applies(ledger: Any, in_hartwell: Client, as_user: Any) -> None:
    Client.objects.filter(pk=in_hartwell.pk).update(autonomy="auto", approval_threshold=100)
    in_hartwell.refresh_from_db()
    connector = ledger()
    credit = ConnectorTool.objects.get(connector=connector, name="credit")
    response = as_user("alice", "hartwell").post(
        f"/safety/connectors/{connector.pk}/tools/{credit.pk}/scope/", {"scope": "dry_run"}, HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 200 and b'data-testid="effective-credit">dry_run' in response.content
    assert AuditEvent.objects.get(event="safety.tool_scope_changed").payload["scope"] == {
        "from": "inherit",
        "to": "dry_run",
    }
    assert ConnectorEvent.objects.filter(kind=EventKind.CONSENT, summary__contains="credit scope").exists()
    action = run_tool(
        connector=connector,
        tool_name="credit",
        arguments={"account": "acme", "amount": 1},
        context=CallContext(idempotency_key="scoped"),
    )
    assert action.status == ActionStatus.DRY_RUN


def test_only_admins_of_the_client_reach_the_editor(ledger: Any, in_hartwell: Client, as_user: Any) -> None:
    connector = ledger()
    tool = ConnectorTool.objects.get(connector=connector, name="credit")
    bob = as_user("bob", "hartwell")
    assert bob.get("/safety/connectors/").status_code == 403
    assert bob.get(f"/safety/connectors/{connector.pk}/").status_code == 403
    assert (
        bob.post(f"/safety/connectors/{connector.pk}/tools/{tool.pk}/scope/", {"scope": "read_write"}).status_code
        == 403
    )
    carol = as_user("carol", "dearborn")  # Admin, but of Dearborn: Hartwell's connector is not there
    assert carol.get(f"/safety/connectors/{connector.pk}/").status_code == 404
    assert (
        carol.post(f"/safety/connectors/{connector.pk}/", {"autonomy": "act", "scope": "read_write"}).status_code == 404
    )
    assert as_user("carol", "hartwell").get("/safety/connectors/").status_code == 403
    connection.set_tenant(in_hartwell)
    tool.refresh_from_db()
    assert tool.scope == "" and not AuditEvent.objects.filter(event__startswith="safety.").exists()
