"""The Microsoft 365 playbooks, through the real gate and the real connector: the Graph stand-in over HTTPS → the
real msgraph-sdk in the MCP server subprocess → ``run_tool`` (tests/playbooks/harness.py)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from apps.agent import playbooks
from apps.agent.contracts import Verdict
from apps.connectors import services
from apps.connectors.models import Connector
from apps.connectors.specs import microsoft365_draft
from apps.safety import enforcement
from apps.safety.models import ActionStatus, ToolAction
from sandbox.msgraph import GraphSandbox
from sandbox.msgraph_data import DEMO_CLIENT_ID, DEMO_SEED, HARTWELL
from tests.connectors.vendors import allow_writes, close_sessions  # noqa: F401 (autouse: servers end with each test)
from tests.playbooks.harness import GateContext, ticket


@pytest.fixture
def graph() -> Iterator[GraphSandbox]:
    with GraphSandbox(DEMO_SEED) as sandbox:
        yield sandbox


@pytest.fixture
def m365(in_hartwell: Any, people: dict[str, Any], graph: GraphSandbox) -> Connector:
    draft = microsoft365_draft(
        name="Microsoft 365",
        tenant_id=HARTWELL,
        client_id=DEMO_CLIENT_ID,
        client_secret="hartwell-demo-secret",
        authority=graph.base_url,
        graph_url=graph.base_url,
        ca_file=graph.ca_file,
    )
    connector = services.connect(client=in_hartwell, draft=draft, actor=people["mona"])
    return allow_writes(in_hartwell, connector)


def _methods(graph: GraphSandbox, upn: str) -> list[Any]:
    user = graph.tenant(HARTWELL).user(upn)
    assert user is not None
    return [m for m in user["methods"] if m.get("type") != "password"]


def _decide(title: str, body: str, email: str, name: str) -> tuple[Any, GateContext]:
    context = GateContext(ticket(title, body, contact_email=email, contact_name=name))
    return playbooks.decide(context), context


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
    before = graph.tenant(HARTWELL).user("margaret.hartwell@hartwelllaw.com")["signInSessionsValidFromDateTime"]
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
    after = graph.tenant(HARTWELL).user("margaret.hartwell@hartwelllaw.com")["signInSessionsValidFromDateTime"]
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
