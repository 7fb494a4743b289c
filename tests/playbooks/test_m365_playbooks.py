"""The Microsoft 365 playbooks, through the real gate and the real connector: the Graph stand-in over HTTPS → the
real msgraph-sdk in the MCP server subprocess → ``run_tool`` (tests/playbooks/harness.py)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from django.db import connection

from apps.agent.contracts import Verdict
from apps.auditlog.models import AuditEvent
from apps.connectors.models import Connector
from apps.core.secrets import unseal_json
from apps.safety import enforcement
from apps.safety.contacts import add_authorized_contact
from apps.safety.models import ActionStatus, ToolAction
from apps.safety.requester import disclosures
from apps.safety.tool_secrets import SEALED
from sandbox.msgraph import GraphSandbox
from sandbox.msgraph_data import DEMO_SEED, HARTWELL
from tests.connectors.vendors import allow_writes, close_sessions, connect_demo_m365  # noqa: F401 (autouse: servers end with each test)
from tests.playbooks.harness import GateContext, decide_as


@pytest.fixture
def graph() -> Iterator[GraphSandbox]:
    with GraphSandbox(DEMO_SEED) as sandbox:
        yield sandbox


@pytest.fixture
def m365(in_hartwell: Any, people: dict[str, Any], graph: GraphSandbox) -> Connector:
    return connect_demo_m365(in_hartwell, people["mona"], graph)


def _methods(graph: GraphSandbox, upn: str) -> list[Any]:
    user = graph.tenant(HARTWELL).user(upn)
    assert user is not None
    return [m for m in user["methods"] if m.get("type") != "password"]


def _decide(title: str, body: str, email: str, name: str) -> tuple[Any, GateContext]:
    return decide_as(title, body, email=email, name=name)


def _discloses(finding: Any, context: GateContext) -> list[Any]:
    """What the engine's reply check (apps/agent/guards.py) would block in this reply."""
    assert context.accounts is not None
    return disclosures(finding.reply, context.accounts, ticket_text=context.ticket.full_text)


def test_a_new_phone_gets_its_mfa_reset_once_a_person_approves(
    m365: Connector, graph: GraphSandbox, people: dict[str, Any]
) -> None:
    finding, _ = _decide(
        "New phone - cannot approve sign in",
        "Hi, I got a new phone yesterday and now the MFA doesn't work anymore, I can't approve the sign-in. Sam",
        "sam.ortiz@hartwelllaw.com",
        "Sam Ortiz",
    )
    assert finding is not None and finding.decided_by == "playbook:m365-mfa-reregistration", finding
    held = ToolAction.objects.get(tool_name="reset_mfa")
    assert held.status == ActionStatus.AWAITING_APPROVAL and finding.verdict != Verdict.AUTO_RESOLVED
    assert _methods(graph, "sam.ortiz@hartwelllaw.com")  # nothing removed before a person approves
    enforcement.approve(action=held, actor=people["alice"], note="Sam called from his desk phone")
    assert enforcement.run_approved(str(held.pk))
    assert _methods(graph, "sam.ortiz@hartwelllaw.com") == []


def test_a_risky_account_goes_to_a_technician_without_touching_mfa(m365: Connector, graph: GraphSandbox) -> None:
    finding, _ = _decide(
        "Authenticator on my old phone",
        "My authenticator app was on my old phone which I traded in, and now I can't sign in to Outlook.",
        "jane.doe@hartwelllaw.com",
        "Jane Doe",
    )
    assert finding is not None and finding.verdict == Verdict.NEEDS_TECH, finding
    assert "medium risk" in finding.escalation_reason
    assert not ToolAction.objects.filter(tool_name="reset_mfa").exists()
    assert len(_methods(graph, "jane.doe@hartwelllaw.com")) == 2


def test_outlook_asking_for_the_password_ends_the_old_sessions(m365: Connector, graph: GraphSandbox) -> None:
    before = _user(graph, "margaret.hartwell@hartwelllaw.com")["signInSessionsValidFromDateTime"]
    finding, _ = _decide(
        "Outlook keeps asking for my password",
        "Since this morning Outlook keeps asking me for my password every few minutes, and it is the right one.",
        "margaret.hartwell@hartwelllaw.com",
        "Margaret",
    )
    assert finding is not None and finding.decided_by == "playbook:m365-sign-in-help", finding
    assert finding.verdict == Verdict.AUTO_RESOLVED, finding.summary
    reply = " ".join(finding.reply.split())
    assert "We ended your old sessions" in reply and "last successful sign-in: 2026-12-07" in reply
    after = _user(graph, "margaret.hartwell@hartwelllaw.com")["signInSessionsValidFromDateTime"]
    assert after != before


def test_a_disabled_account_is_not_signed_out_but_handed_to_a_person(m365: Connector) -> None:
    finding, _ = _decide(
        "Outlook keeps asking for my password",
        "Outlook keeps prompting for my credentials and won't take my password.",
        "former.clerk@hartwelllaw.com",
        "Clerk",
    )
    assert finding is not None and finding.verdict == Verdict.NEEDS_L2 and "is disabled" in finding.escalation_reason
    assert not ToolAction.objects.filter(tool_name="revoke_sessions").exists()


def test_someone_without_an_account_is_asked_which_address_they_use(m365: Connector) -> None:
    finding, _ = _decide(
        "Outlook keeps asking for my password",
        "Outlook keeps asking for my password all day.",
        "someone@gmail.example",
        "Someone",
    )
    assert finding is not None and finding.verdict == Verdict.NEEDS_CLIENT and finding.unknown_requester
    assert "could not find a Microsoft 365 account" in " ".join(finding.reply.split())


def test_an_unlicensed_office_with_a_licence_is_told_to_sign_in_again(m365: Connector) -> None:
    finding, _ = _decide(
        "Word says unlicensed product",
        "Since this morning Word shows a red bar saying unlicensed product and I cannot edit my documents.",
        "margaret.hartwell@hartwelllaw.com",
        "Margaret",
    )
    assert finding is not None and finding.decided_by == "playbook:m365-unlicensed-office", finding
    assert finding.verdict == Verdict.AUTO_RESOLVED and "O365_BUSINESS_PREMIUM" in finding.reply
    assert not ToolAction.objects.filter(access="write").exists()  # nothing changed


def test_an_unlicensed_office_without_a_licence_goes_to_a_person_with_the_free_seats(m365: Connector) -> None:
    finding, _ = _decide(
        "Word says unlicensed product",
        "Word says unlicensed product when I open it, I can only read documents.",
        "sam.ortiz@hartwelllaw.com",
        "Sam",
    )
    assert finding is not None and finding.verdict == Verdict.NEEDS_L2, finding
    assert "no licence with the Office apps" in finding.escalation_reason
    assert "O365_BUSINESS_PREMIUM 3" in finding.escalation_reason  # 5 seats, 2 used
    assert not ToolAction.objects.filter(tool_name="assign_license").exists()


def test_a_laptop_missing_an_app_is_synced(m365: Connector, graph: GraphSandbox) -> None:
    finding, _ = _decide(
        "New app not on my laptop",
        "IT said the new document management app would be pushed yesterday but it is still not on my laptop.",
        "margaret.hartwell@hartwelllaw.com",
        "Margaret",
    )
    assert finding is not None and finding.decided_by == "playbook:intune-device-sync", finding
    assert finding.verdict == Verdict.AUTO_RESOLVED and "HL-LT-002" in finding.reply
    synced = [a for a in graph.actions if a["action"] == "syncDevice"]
    assert len(synced) == 1


def _user(graph: GraphSandbox, upn: str) -> dict[str, Any]:
    user = graph.tenant(HARTWELL).user(upn)
    assert user is not None, upn
    return user


# --- password reset (the temporary password goes by phone, never in a reply) ---------------------------------------


def test_a_forgotten_password_is_reset_only_once_a_person_approves_and_never_sent_by_email(
    m365: Connector, graph: GraphSandbox, people: dict[str, Any]
) -> None:
    finding, _ = _decide(
        "Forgot my password",
        "Hi, I forgot my password over the weekend and now I can't log in to my email. Can you help? Sam",
        "sam.ortiz@hartwelllaw.com",
        "Sam Ortiz",
    )
    assert finding is not None and finding.decided_by == "playbook:m365-password-reset", finding
    held = ToolAction.objects.get(tool_name="reset_password")
    assert held.status == ActionStatus.AWAITING_APPROVAL and finding.verdict == Verdict.NEEDS_L2
    sam = _user(graph, "sam.ortiz@hartwelllaw.com")
    assert held.arguments == {"user": sam["id"], "revoke_sessions": True, "dry_run": False}
    assert not [a for a in graph.actions if a["action"] in {"passwordReset", "revokeSignInSessions"}]
    reply = " ".join(finding.reply.split())
    assert "never send passwords by email" in reply and "call you" in reply
    assert "call the user back" in finding.escalation_reason
    enforcement.approve(action=held, actor=people["alice"], note="called Sam back on his desk phone")
    assert enforcement.run_approved(str(held.pk))
    held.refresh_from_db()
    done = json.loads(held.result_text)
    assert done["force_change_at_next_sign_in"] and done["sessions_revoked"]
    # Sealed for the approver's one look (tests/playbooks/test_m365_temporary_password.py follows it everywhere).
    assert done["temporary_password"] == SEALED
    password = unseal_json(connection.tenant, held.sealed_secrets, purpose=f"tool-action:{held.pk}")
    assert len(password["temporary_password"]) == 16
    assert password["temporary_password"] not in finding.reply + finding.summary + finding.escalation_reason
    changed = {a["action"]: a for a in graph.actions if a["user"] == sam["id"]}
    assert changed["passwordReset"]["forceChange"] is True and "revokeSignInSessions" in changed
    assert held.inverse is None  # a password has no undo


def test_a_risky_account_gets_no_password_reset_proposal(m365: Connector) -> None:
    finding, _ = _decide(
        "Password expired",
        "My password expired this morning and now I cannot sign in to Outlook at all, please reset it.",
        "jane.doe@hartwelllaw.com",
        "Jane Doe",
    )
    assert finding is not None and finding.decided_by == "playbook:m365-password-reset", finding
    assert finding.verdict == Verdict.NEEDS_TECH and "medium risk" in finding.escalation_reason
    assert not ToolAction.objects.filter(tool_name="reset_password").exists()


def test_how_to_change_a_password_is_left_to_the_knowledge_base(m365: Connector) -> None:
    finding, _ = _decide(
        "Changing my password",
        "How do I change my Microsoft 365 password? I'd like a stronger one.",
        "sam.ortiz@hartwelllaw.com",
        "Sam",
    )
    assert finding is None or finding.decided_by != "playbook:m365-password-reset", finding
    assert not ToolAction.objects.filter(tool_name="reset_password").exists()


# --- shared mailbox / group access (authorized contacts only, always through approval) -----------------------------

PARTNERS = "Please add Sam to the partners shared mailbox, he is working on the Baxter matter with us."


def _members(graph: GraphSandbox, group: str) -> list[str]:
    return list(graph.tenant(HARTWELL).group_named(group)["members"])


def test_an_authorized_contact_gets_a_colleague_added_once_a_person_approves(
    m365: Connector, graph: GraphSandbox, people: dict[str, Any]
) -> None:
    add_authorized_contact(email="margaret.hartwell@hartwelllaw.com", note="managing partner", actor=people["alice"])
    finding, context = _decide("Shared mailbox access", PARTNERS, "margaret.hartwell@hartwelllaw.com", "Margaret")
    assert finding is not None and finding.decided_by == "playbook:m365-group-access", finding
    assert _discloses(finding, context) == [] and "prepared access to Partners for Sam" in " ".join(
        finding.reply.split()
    )
    sam, partners = (
        _user(graph, "sam.ortiz@hartwelllaw.com"),
        graph.tenant(HARTWELL).group_named("Partners"),
    )
    preview = ToolAction.objects.get(tool_name="add_group_member", status=ActionStatus.DRY_RUN)
    held = ToolAction.objects.get(tool_name="add_group_member", status=ActionStatus.AWAITING_APPROVAL)
    assert held.arguments == {"group_id": partners["id"], "user": sam["id"], "dry_run": False}
    assert json.loads(preview.result_text)["would_change"] is True
    reason = finding.escalation_reason
    assert finding.verdict == Verdict.NEEDS_L2 and "margaret.hartwell@hartwelllaw.com (authorized contact)" in reason
    assert f"POST {graph.base_url}/v1.0/groups/{partners['id']}/members/$ref" in reason, reason
    assert f"directoryObjects/{sam['id']}" in reason and "Inverse: remove_group_member" in reason
    assert sam["id"] not in _members(graph, "Partners")  # nothing changes before a person approves
    audited = AuditEvent.objects.get(event="tool.needs_approval", payload__action=str(held.pk)).payload
    assert audited["subject"] == "third_party" and audited["authorized_contact"] is True  # for a colleague, as such
    enforcement.approve(action=held, actor=people["alice"], note="Margaret confirmed on the phone")
    assert enforcement.run_approved(str(held.pk))
    assert sam["id"] in _members(graph, "Partners")
    held.refresh_from_db()
    enforcement.undo(action=held, actor=people["alice"])  # the declared inverse really removes him again
    assert sam["id"] not in _members(graph, "Partners")


def test_a_requester_who_is_not_an_authorized_contact_is_escalated_with_the_reason(
    m365: Connector, graph: GraphSandbox
) -> None:
    finding, _ = _decide("Shared mailbox access", PARTNERS, "jane.doe@hartwelllaw.com", "Jane")
    assert finding is not None and finding.decided_by == "playbook:m365-group-access", finding
    assert finding.verdict == Verdict.NEEDS_L2 and "is not an authorized contact" in finding.escalation_reason
    assert "Partners, Microsoft 365 group" in " ".join(finding.escalation_reason.split())
    assert not ToolAction.objects.filter(tool_name__in=["add_group_member", "find_user"]).exists()
    assert _members(graph, "Partners") == [_user(graph, "margaret.hartwell@hartwelllaw.com")["id"]]


def test_access_for_oneself_needs_an_authorized_contact_too_and_a_member_is_not_added_twice(
    m365: Connector, people: dict[str, Any]
) -> None:
    ask = "Can you give me access to the Partners group? I need the shared files."
    finding, _ = _decide("Access", ask, "sam.ortiz@hartwelllaw.com", "Sam")
    assert finding is not None and "is not an authorized contact" in finding.escalation_reason, finding
    add_authorized_contact(email="margaret.hartwell@hartwelllaw.com", actor=people["alice"])
    finding, _ = _decide("Access", ask, "margaret.hartwell@hartwelllaw.com", "Margaret")
    assert finding is not None and finding.verdict == Verdict.AUTO_RESOLVED, finding
    assert "already a member of Partners" in " ".join(finding.reply.split())
    assert not ToolAction.objects.filter(tool_name="add_group_member").exists()


def test_a_distribution_list_is_handed_to_exchange_admins(m365: Connector, people: dict[str, Any]) -> None:
    add_authorized_contact(email="margaret.hartwell@hartwelllaw.com", actor=people["alice"])
    finding, _ = _decide(
        "Mailing list", "Please add Sam Ortiz to the All Staff group.", "margaret.hartwell@hartwelllaw.com", "M"
    )
    assert finding is not None and finding.verdict == Verdict.NEEDS_L2, finding
    assert "managed in Exchange Online" in finding.escalation_reason
    assert not ToolAction.objects.filter(tool_name="add_group_member").exists()


def test_a_how_to_question_about_a_shared_mailbox_runs_nothing(m365: Connector, people: dict[str, Any]) -> None:
    add_authorized_contact(email="margaret.hartwell@hartwelllaw.com", actor=people["alice"])
    finding, _ = _decide(
        "Shared mailbox",
        "How do I open the partners shared mailbox in Outlook on my Mac?",
        "margaret.hartwell@hartwelllaw.com",
        "Margaret",
    )
    assert finding is None or finding.decided_by != "playbook:m365-group-access", finding
    assert not ToolAction.objects.filter(tool_name="add_group_member").exists()


def test_a_colleague_with_no_account_yet_goes_to_a_person_not_back_to_the_office_manager(
    m365: Connector, people: dict[str, Any]
) -> None:
    """An authorized contact asks for a new starter who has no account: asking her for "the address you sign in
    with" (the requester's own no-account reply) was wrong; a person sets the new account up."""
    add_authorized_contact(email="margaret.hartwell@hartwelllaw.com", note="managing partner", actor=people["alice"])
    finding, _ = decide_as(
        "Office licence for Rachel Green",
        "Please give a Microsoft Office licence to our new contract paralegal Rachel Green, "
        "rachel.green@hartwelllaw.com. She starts Monday.",
        email="margaret.hartwell@hartwelllaw.com",
        name="Margaret",
        acts_for="rachel.green@hartwelllaw.com",
    )
    assert finding is not None and finding.decided_by.startswith("playbook:m365-"), finding
    assert finding.verdict == Verdict.NEEDS_L2, finding
    reply = " ".join(finding.reply.split())
    assert "rachel.green@hartwelllaw.com" in reply and "address you sign in with" not in reply
    assert "authorized contact" in finding.escalation_reason
    assert not ToolAction.objects.filter(tool_name="assign_license").exists()
