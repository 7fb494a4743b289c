"""The approvals queue and the rules editor: who may see and do what."""

from typing import Any

from django.db import connection

from apps.accounts.models import Membership, Role
from apps.safety.enforcement import CallContext, run_tool
from apps.safety.models import ActionStatus, SafetyRule, ToolAction
from tenants.models import Client


def _waiting(ledger: Any, client: Client) -> ToolAction:
    Client.objects.filter(pk=client.pk).update(autonomy="review")
    client.refresh_from_db()
    return run_tool(
        connector=ledger(),
        tool_name="credit",
        arguments={"account": "acme", "amount": 1},
        context=CallContext(idempotency_key="page-1", purpose="refund for ticket #12"),
    )


def test_agents_see_and_approve_the_queue(ledger: Any, in_hartwell: Client, as_user: Any) -> None:
    action = _waiting(ledger, in_hartwell)
    bob = as_user("bob", "hartwell")
    page = bob.get("/approvals/").content.decode()
    assert f'data-testid="approval-{action.pk}"' in page and "refund for ticket #12" in page
    response = bob.post(f"/approvals/{action.pk}/approve/", {"note": "ok"}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200 and b"Nothing is waiting" in response.content
    action.refresh_from_db()
    assert action.status == ActionStatus.APPROVED and action.decision_note == "ok"


def test_viewers_and_other_clients_cannot_decide(ledger: Any, in_hartwell: Client, as_user: Any, people: Any) -> None:
    action = _waiting(ledger, in_hartwell)
    Membership.objects.filter(user=people["bob"], client=in_hartwell).update(role=Role.VIEWER)
    assert as_user("bob", "hartwell").post(f"/approvals/{action.pk}/approve/").status_code == 403
    assert as_user("carol", "hartwell").get("/approvals/").status_code == 403
    assert as_user("carol", "dearborn").post(f"/approvals/{action.pk}/approve/").status_code == 404  # not in Dearborn
    connection.set_tenant(in_hartwell)  # the request above left the connection in Dearborn's schema
    action.refresh_from_db()
    assert action.status == ActionStatus.AWAITING_APPROVAL


def test_rejecting_without_a_reason_says_so(ledger: Any, in_hartwell: Client, as_user: Any) -> None:
    action = _waiting(ledger, in_hartwell)
    response = as_user("bob", "hartwell").post(f"/approvals/{action.pk}/reject/", {"note": ""}, HTTP_HX_REQUEST="true")
    assert response.status_code == 400 and b"Say why you reject it" in response.content


def test_rules_are_for_admins_and_validated(in_hartwell: Client, as_user: Any) -> None:
    assert as_user("bob", "hartwell").get("/safety/rules/").status_code == 403
    alice = as_user("alice", "hartwell")
    bad = alice.post(
        "/safety/rules/", {"effect": "deny", "tool_pattern": "restart_*", "predicates": '[{"argument": "ns"}]'}
    )
    assert bad.status_code == 400 and b"Each predicate is" in bad.content
    good = {
        "effect": "deny",
        "tool_pattern": "restart_*",
        "label": "never prod",
        "predicates": '[{"argument": "namespace", "op": "eq", "value": "prod"}]',
    }
    assert alice.post("/safety/rules/", good).status_code == 302
    rule = SafetyRule.objects.get()
    assert rule.predicates == [{"argument": "namespace", "op": "eq", "value": "prod"}]
    assert alice.post(f"/safety/rules/{rule.pk}/delete/").status_code == 302 and not SafetyRule.objects.exists()


def test_authorized_contacts_are_for_admins_validated_and_audited(in_hartwell: Client, as_user: Any) -> None:
    from apps.auditlog.models import AuditEvent
    from apps.safety.models import AuthorizedContact

    assert as_user("bob", "hartwell").get("/safety/contacts/").status_code == 403
    assert as_user("carol", "dearborn").get("/safety/contacts/").status_code == 200  # her own client's list
    connection.set_tenant(in_hartwell)
    alice = as_user("alice", "hartwell")
    assert b"Nobody yet" in alice.get("/safety/contacts/").content
    bad = alice.post("/safety/contacts/", {"email": "not an address"})
    assert bad.status_code == 400 and b"Enter a valid email address" in bad.content
    added = {"email": "Office@BrightPath.example", "name": "Dana", "note": "office manager"}
    assert alice.post("/safety/contacts/", added).status_code == 302
    too_long = alice.post("/safety/contacts/", dict(added, name="x" * 201))
    assert too_long.status_code == 400 and b"at most 200 characters" in too_long.content  # the error is shown
    again = alice.post("/safety/contacts/", added)
    assert again.status_code == 400 and b"already an authorized contact" in again.content
    contact = AuthorizedContact.objects.get()
    assert contact.email == "office@brightpath.example"
    assert AuditEvent.objects.filter(event="safety.authorized_contact_added", payload__email=contact.email).exists()
    assert as_user("carol", "dearborn").post(f"/safety/contacts/{contact.pk}/remove/").status_code == 404
    connection.set_tenant(in_hartwell)
    assert alice.post(f"/safety/contacts/{contact.pk}/remove/").status_code == 302
    assert not AuthorizedContact.objects.exists()
    assert AuditEvent.objects.filter(event="safety.authorized_contact_removed").exists()


def test_a_risky_action_is_approved_by_an_admin_only(ledger: Any, in_hartwell: Client, as_user: Any) -> None:
    """Issue 18: any Agent could approve a risk-65 production action. Checked at the one approval point, so the
    emailed link, Slack and Teams paths refuse it too."""
    from apps.auditlog.models import AuditEvent
    from apps.safety.client_settings import safety_settings
    from apps.safety.models import SafetySettings

    action = _waiting(ledger, in_hartwell)
    SafetySettings.objects.filter(pk=safety_settings().pk).update(admin_approval_risk=action.risk)
    response = as_user("bob", "hartwell").post(
        f"/approvals/{action.pk}/approve/", {"note": "ok"}, HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 200 and b"only an Admin of this client may approve it" in response.content
    connection.set_tenant(in_hartwell)
    action.refresh_from_db()
    assert action.status == ActionStatus.AWAITING_APPROVAL
    assert not AuditEvent.objects.filter(event="approval.approved", payload__action=str(action.pk)).exists()
    as_user("alice", "hartwell").post(f"/approvals/{action.pk}/approve/", {"note": "ok"}, HTTP_HX_REQUEST="true")
    connection.set_tenant(in_hartwell)
    action.refresh_from_db()
    assert action.status in {ActionStatus.APPROVED, ActionStatus.RUNNING, ActionStatus.DONE}


def test_the_admin_approval_risk_is_a_safety_setting(in_hartwell: Client, as_user: Any) -> None:
    from apps.safety.client_settings import admin_approval_risk

    assert admin_approval_risk() == 60
    alice = as_user("alice", "hartwell")
    form = {
        "autonomy": "review",
        "approval_threshold": 50,
        "approval_ttl_hours": 24,
        "compliance_profile": "standard",
        "notify_email": "on",
        "admin_approval_risk": 101,
    }
    assert alice.post("/safety/settings/", form).status_code == 302
    connection.set_tenant(in_hartwell)
    assert admin_approval_risk() == 101
    bad = alice.post("/safety/settings/", dict(form, admin_approval_risk=102))
    assert bad.status_code == 400 and b"less than or equal to 101" in bad.content
