"""The access playbook on the whole path: a raw email through the real parser into Hartwell's inbox, read and triaged,
investigated by the engine (the account book, the gate, the reply check), against the Graph stand-in."""

from __future__ import annotations

from typing import Any
from uuid import uuid4

import pytest

from apps.agent.investigations import save_settings
from apps.agent.models import Investigation
from apps.connectors.models import Connector
from apps.safety.contacts import add_authorized_contact
from apps.safety.models import ActionStatus, ToolAction
from apps.tickets import services as tickets
from sandbox.msgraph import GraphSandbox
from sandbox.msgraph_data import HARTWELL
from tests.agent.eval_world import email_into
from tests.playbooks.test_m365_playbooks import graph, m365  # noqa: F401 (fixtures: the Graph stand-in, connector)

PASS = "spf=pass smtp.mailfrom=hartwelllaw.com dkim=pass header.d=hartwelllaw.com dmarc=pass"
ADD_SAM = "Hi,\n\nPlease add Sam to the partners shared mailbox, he is on the Baxter matter with us now.\n\nThanks"


def _email_in(client: Any, *, sender: str, subject: str, body: str) -> Investigation:
    save_settings(changes={"auto_investigate": False}, actor=None)
    source = tickets.create_source(client=client, kind="webhook", name=f"Inbox {uuid4().hex[:6]}", config={})
    investigation: Investigation = email_into(source, sender=sender, subject=subject, body=body, auth=PASS)
    return investigation


@pytest.fixture
def partners(graph: GraphSandbox) -> dict[str, Any]:  # noqa: F811 (the fixture imported above)
    return graph.tenant(HARTWELL).group_named("Partners")


def test_an_office_managers_email_proposes_the_access_change_and_the_reply_passes_the_check(
    in_hartwell: Any,
    m365: Connector,  # noqa: F811
    partners: dict[str, Any],
    people: dict[str, Any],
) -> None:
    add_authorized_contact(email="margaret.hartwell@hartwelllaw.com", actor=people["alice"])
    done = _email_in(
        in_hartwell, sender="Margaret Hartwell <margaret.hartwell@hartwelllaw.com>", subject="Access", body=ADD_SAM
    )
    assert done.decided_by == "playbook:m365-group-access", (done.decided_by, done.summary)
    assert done.verdict == "needs_l2" and "reply was blocked" not in done.summary, done.summary
    assert "prepared access to Partners for Sam" in " ".join(done.reply.split())  # named as Margaret wrote him
    assert "/members/$ref" in done.escalation_reason and "Inverse: remove_group_member" in done.escalation_reason
    held = ToolAction.objects.get(tool_name="add_group_member", status=ActionStatus.AWAITING_APPROVAL)
    assert held.arguments["group_id"] == partners["id"] and len(partners["members"]) == 1  # nothing added yet


def test_the_same_email_from_a_colleague_who_is_not_authorized_changes_nothing(
    in_hartwell: Any,
    m365: Connector,  # noqa: F811
    partners: dict[str, Any],
) -> None:
    done = _email_in(in_hartwell, sender="Jane Doe <jane.doe@hartwelllaw.com>", subject="Access", body=ADD_SAM)
    assert done.verdict == "needs_l2" and "is not an authorized contact" in done.escalation_reason, done.summary
    assert not ToolAction.objects.filter(tool_name="add_group_member").exists() and len(partners["members"]) == 1
