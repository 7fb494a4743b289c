"""A forgotten Microsoft 365 password: the user resets it themselves when Entra ID says they can, otherwise a person
calls them back with a temporary one. Through the real gate and connector: the Graph stand-in over HTTPS → the real
msgraph-sdk in the MCP server subprocess → ``run_tool``."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

import pytest

from apps.agent.contracts import Verdict
from apps.connectors.models import Connector
from apps.connectors.specs import microsoft365_draft
from apps.safety.models import ActionStatus, ToolAction
from sandbox.msgraph import GraphSandbox
from sandbox.msgraph_data import DEMO_SEED, HARTWELL
from tests.connectors.vendors import call, close_sessions, connect_demo_m365, result  # noqa: F401 (autouse)
from tests.playbooks.harness import decide_as

FORGOT = "Hi, I forgot my password over the weekend and now I can't log in to my email. Can you help?"
WRITES = {"passwordReset", "revokeSignInSessions", "deleteMethod"}


def _seed(*, premium: bool, sspr: str = "all") -> dict[str, Any]:
    seed = copy.deepcopy(DEMO_SEED)
    hartwell = seed["tenants"][0]
    assert hartwell["id"] == HARTWELL
    if premium:  # Entra ID P1 bought on top of Business Standard: its reports answer
        hartwell["skus"].append({"skuPartNumber": "AAD_PREMIUM", "units": 20})
    hartwell["sspr"] = sspr
    return seed


def _connect(in_hartwell: Any, people: dict[str, Any], graph: GraphSandbox, sspr_methods: int = 0) -> Connector:
    return connect_demo_m365(in_hartwell, people["mona"], graph, sspr_methods=sspr_methods)


@pytest.fixture
def premium() -> Iterator[GraphSandbox]:
    with GraphSandbox(_seed(premium=True)) as sandbox:
        yield sandbox


def _decide(email: str, name: str, body: str = FORGOT) -> Any:
    return decide_as("Forgot my password", body, email=email, name=name)[0]


def test_a_user_registered_for_self_service_is_sent_to_the_reset_page_and_nothing_is_changed(
    in_hartwell: Any, people: dict[str, Any], premium: GraphSandbox
) -> None:
    _connect(in_hartwell, people, premium)
    finding = _decide("sam.ortiz@hartwelllaw.com", "Sam Ortiz")  # MFA on his mobile phone: SSPR-capable
    assert finding is not None and finding.decided_by == "playbook:m365-password-reset", finding
    assert finding.verdict == Verdict.AUTO_RESOLVED, finding.summary
    reply = " ".join(finding.reply.split())
    assert "https://passwordreset.microsoftonline.com" in reply and "sam.ortiz@hartwelllaw.com" in reply
    assert "self-service password reset" in finding.summary and "mobilePhone" in finding.summary
    assert not ToolAction.objects.filter(tool_name="reset_password").exists()
    assert not [a for a in premium.actions if a["action"] in WRITES]


def test_a_security_key_alone_is_no_way_to_reset_a_password_so_a_person_calls_back(
    in_hartwell: Any, people: dict[str, Any], premium: GraphSandbox
) -> None:
    _connect(in_hartwell, people, premium)
    finding = _decide("margaret.hartwell@hartwelllaw.com", "Margaret Hartwell")  # a YubiKey only
    assert finding is not None and finding.verdict == Verdict.NEEDS_L2, finding
    held = ToolAction.objects.get(tool_name="reset_password")
    assert held.status == ActionStatus.AWAITING_APPROVAL
    assert "self-service reset not available to them" in " ".join(finding.escalation_reason.split())
    assert "passwordreset.microsoftonline.com" not in finding.reply


def test_a_tenant_whose_policy_leaves_self_service_off_gets_the_call_back(
    in_hartwell: Any, people: dict[str, Any]
) -> None:
    with GraphSandbox(_seed(premium=True, sspr="none")) as graph:
        _connect(in_hartwell, people, graph)
        finding = _decide("sam.ortiz@hartwelllaw.com", "Sam Ortiz")
    assert finding is not None and finding.verdict == Verdict.NEEDS_L2, finding
    assert ToolAction.objects.get(tool_name="reset_password").status == ActionStatus.AWAITING_APPROVAL


def test_without_entra_id_p1_gaby_cannot_tell_and_says_why(in_hartwell: Any, people: dict[str, Any]) -> None:
    with GraphSandbox(_seed(premium=False)) as graph:
        m365 = _connect(in_hartwell, people, graph)
        checked = result(call(m365, "self_service_reset", user="sam.ortiz@hartwelllaw.com"))
        finding = _decide("sam.ortiz@hartwelllaw.com", "Sam Ortiz")
    assert checked["known"] is False and checked["capable"] is None
    assert "no Entra ID P1 licence" in checked["why"]
    assert finding is not None and finding.verdict == Verdict.NEEDS_L2, finding
    assert "self-service reset unknown: This tenant has no Entra ID P1" in " ".join(finding.escalation_reason.split())


def test_the_registration_report_reads_through_the_gate(
    in_hartwell: Any, people: dict[str, Any], premium: GraphSandbox
) -> None:
    m365 = _connect(in_hartwell, people, premium)
    sam = result(call(m365, "self_service_reset", user="sam.ortiz@hartwelllaw.com"))
    assert sam["known"] and sam["capable"] and sam["registered"] and sam["enabled"]
    assert sam["methods"] == ["mobilePhone"]
    margaret = result(call(m365, "self_service_reset", user="margaret.hartwell@hartwelllaw.com"))
    assert margaret["known"] and not margaret["registered"] and not margaret["capable"]
    assert margaret["methods"] == ["fido2SecurityKey"]


def test_without_entra_id_p1_the_msps_declared_policy_and_the_registered_methods_decide(
    in_hartwell: Any, people: dict[str, Any]
) -> None:
    """Business Standard has no registration report; the MSP that switched self-service reset on says so on the
    connector, and Graph's list of the user's methods (readable without P1) tells who can use it."""
    with GraphSandbox(_seed(premium=False)) as graph:
        m365 = _connect(in_hartwell, people, graph, sspr_methods=1)
        sam = result(call(m365, "self_service_reset", user="sam.ortiz@hartwelllaw.com"))
        margaret = result(call(m365, "self_service_reset", user="margaret.hartwell@hartwelllaw.com"))
        finding = _decide("sam.ortiz@hartwelllaw.com", "Sam Ortiz")
    assert sam["known"] and sam["capable"] and sam["methods"] == ["phone"] and "MSP's setting" in sam["source"]
    assert margaret["known"] and not margaret["capable"]  # a FIDO2 key cannot reset a password
    assert finding is not None and finding.verdict == Verdict.AUTO_RESOLVED, finding
    assert "https://passwordreset.microsoftonline.com" in finding.reply
    assert not ToolAction.objects.filter(tool_name="reset_password").exists()
    assert not [a for a in graph.actions if a["action"] in WRITES]


def test_a_declared_policy_asks_for_a_known_number_of_methods() -> None:
    with pytest.raises(ValueError, match="1 or 2 registered methods"):
        microsoft365_draft(name="M365", tenant_id="t", client_id="c", client_secret="s", sspr_methods=3)


def test_the_connect_form_carries_the_declared_policy() -> None:
    from apps.connectors.forms import Microsoft365Form

    data = {
        "name": "M365",
        "autonomy": "investigate",
        "tenant_id": "hartwelllaw.com",
        "client_id": "c",
        "client_secret": "s",
    }
    declared = Microsoft365Form(data={**data, "sspr_methods": "2"})
    assert declared.is_valid(), declared.errors
    assert declared.draft().settings["sspr_methods"] == 2
    left = Microsoft365Form(data=data)
    assert left.is_valid(), left.errors
    assert left.draft().settings["sspr_methods"] == 0


def test_a_connector_already_made_is_given_the_declaration_from_the_command_line(
    in_hartwell: Any, people: dict[str, Any]
) -> None:
    """A connector the partner (GDAP) flow made has no Connect page to revisit: the command declares the policy on
    it, tested before it is stored, and withdraws it again."""
    from io import StringIO

    from django.core.management import call_command

    from apps.connectors.models import ConnectorEvent

    with GraphSandbox(_seed(premium=False)) as graph:
        m365 = _connect(in_hartwell, people, graph)
        assert result(call(m365, "self_service_reset", user="sam.ortiz@hartwelllaw.com"))["known"] is False
        out = StringIO()
        call_command("gaby", "m365-self-service-reset", "--client", in_hartwell.slug, "--methods", "1", stdout=out)
        assert "on for every user, 1 method(s) to reset" in out.getvalue()
        m365.refresh_from_db()
        assert result(call(m365, "self_service_reset", user="sam.ortiz@hartwelllaw.com"))["capable"] is True
        assert ConnectorEvent.objects.filter(connector=m365, summary__contains="settings:sspr_methods").exists()
        call_command("gaby", "m365-self-service-reset", "--client", in_hartwell.slug, "--methods", "0", stdout=out)
        m365.refresh_from_db()
        assert result(call(m365, "self_service_reset", user="sam.ortiz@hartwelllaw.com"))["known"] is False
