"""The per-client safety settings page: settings, profiles, the live preview, ticket-source autonomy."""

from typing import Any

from django.db import connection

from apps.auditlog.models import AuditEvent
from apps.safety.client_settings import approval_ttl
from apps.safety.enforcement import CallContext, run_tool
from apps.safety.models import ActionStatus, SafetySettings
from apps.tickets import services as tickets
from apps.tickets.models import TicketSource
from tenants.models import Client

SETTINGS = {
    "autonomy": "auto",
    "approval_threshold": "60",
    "approval_ttl_hours": "4",
    "compliance_profile": "hipaa",
    "notify_email": "on",
}


def test_settings_are_saved_audited_and_drive_the_gate(ledger: Any, in_hartwell: Client, as_user: Any) -> None:
    alice = as_user("alice", "hartwell")
    page = alice.get("/safety/settings/").content.decode()
    assert 'data-testid="profile-hipaa"' in page and "US Social Security numbers" in page
    assert 'data-testid="providers-hipaa">azure, bedrock, llamacpp, ollama, openai_compatible, vertex, vllm' in page
    response = alice.post("/safety/settings/", SETTINGS, HTTP_HX_REQUEST="true")
    assert response.status_code == 200 and b"Safety settings saved." in response.content
    in_hartwell.refresh_from_db()
    connection.set_tenant(in_hartwell)
    client = in_hartwell
    assert (client.autonomy, client.approval_threshold, client.compliance_profile) == ("auto", 60, "hipaa")
    assert approval_ttl().total_seconds() == 4 * 3600
    assert AuditEvent.objects.get(event="client.settings_changed").payload["changes"]["autonomy"]["to"] == "auto"
    assert AuditEvent.objects.get(event="safety.settings_changed").payload["changes"]["approval_ttl_hours"] == {
        "from": 24,
        "to": 4,
    }
    waiting = run_tool(
        connector=ledger(), tool_name="purge", arguments={"account": "acme"}, context=CallContext(idempotency_key="ttl")
    )
    assert waiting.status == ActionStatus.AWAITING_APPROVAL  # risk 65 ≥ 60
    assert waiting.expires_at is not None
    assert 3.9 * 3600 < (waiting.expires_at - waiting.created_at).total_seconds() <= 4 * 3600


def test_bad_settings_say_what_to_fix(in_hartwell: Client, as_user: Any) -> None:
    response = as_user("alice", "hartwell").post("/safety/settings/", {**SETTINGS, "approval_ttl_hours": "0"})
    assert response.status_code == 400 and b"greater than or equal to 1" in response.content
    assert not SafetySettings.objects.exclude(approval_ttl_hours=24).exists()


def test_the_preview_decides_on_unsaved_values_and_records_nothing(
    ledger: Any, in_hartwell: Client, as_user: Any
) -> None:
    connector = ledger()
    alice = as_user("alice", "hartwell")
    call = {
        "preview_connector": str(connector.pk),
        "preview_tool": "credit",
        "preview_arguments": '{"account": "acme", "amount": 5}',
    }
    investigate = alice.get("/safety/settings/preview/", {**SETTINGS, "autonomy": "investigate", **call})
    assert b'data-testid="preview-outcome">deny' in investigate.content and b"Investigate mode" in investigate.content
    act = alice.get("/safety/settings/preview/", {**SETTINGS, **call}).content.decode()
    assert 'data-testid="preview-outcome">allow' in act and "risk 40 below the threshold of 60" in act
    strict = alice.get("/safety/settings/preview/", {**SETTINGS, "approval_threshold": "30", **call}).content.decode()
    assert 'data-testid="preview-outcome">needs_approval' in strict
    unknown = alice.get("/safety/settings/preview/", {**SETTINGS, **call, "preview_tool": "drop_everything"})
    assert b"Not listed by the server: counts as a write" in unknown.content
    bad = alice.get("/safety/settings/preview/", {**SETTINGS, **call, "preview_arguments": "[1]"})
    assert bad.status_code == 400 and b"The arguments are a JSON object" in bad.content
    connection.set_tenant(in_hartwell)
    in_hartwell.refresh_from_db()
    assert in_hartwell.autonomy == "investigate" and not AuditEvent.objects.filter(event__startswith="tool.").exists()


def test_a_ticket_sources_autonomy_is_set_here_and_limits_the_preview(
    ledger: Any, in_hartwell: Client, as_user: Any
) -> None:
    source = tickets.create_source(client=in_hartwell, kind="webhook", name="Partner portal", config={})
    alice = as_user("alice", "hartwell")
    response = alice.post(f"/safety/settings/sources/{source.pk}/", {"autonomy": "propose"}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    connection.set_tenant(in_hartwell)
    source.refresh_from_db()
    assert source.autonomy == "propose"
    assert AuditEvent.objects.get(event="safety.source_autonomy_changed").payload["autonomy"] == {
        "from": "inherit",
        "to": "propose",
    }
    call = {
        "preview_connector": str(ledger().pk),
        "preview_tool": "credit",
        "preview_source": str(source.pk),
        "preview_arguments": '{"account": "acme", "amount": 5}',
    }
    preview = alice.get("/safety/settings/preview/", {**SETTINGS, **call}).content.decode()
    assert 'data-testid="preview-outcome">needs_approval' in preview and "Propose mode" in preview
    assert alice.post(f"/safety/settings/sources/{source.pk}/", {"autonomy": "yolo"}).status_code == 400


def test_only_admins_of_the_client_reach_the_settings(in_hartwell: Client, as_user: Any) -> None:
    source = tickets.create_source(client=in_hartwell, kind="webhook", name="Portal", config={})
    bob = as_user("bob", "hartwell")
    assert bob.get("/safety/settings/").status_code == 403
    assert bob.post("/safety/settings/", SETTINGS).status_code == 403
    assert bob.get("/safety/settings/preview/", SETTINGS).status_code == 403
    assert bob.post(f"/safety/settings/sources/{source.pk}/", {"autonomy": "act"}).status_code == 403
    carol = as_user("carol", "dearborn")
    assert carol.post(f"/safety/settings/sources/{source.pk}/", {"autonomy": "act"}).status_code == 404
    assert as_user("carol", "hartwell").get("/safety/settings/").status_code == 403
    connection.set_tenant(in_hartwell)
    assert TicketSource.objects.get(pk=source.pk).autonomy == ""
