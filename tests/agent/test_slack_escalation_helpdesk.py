"""FND-7's first button: the escalation DM opens the ticket in its help desk ("Open in Zendesk", "Open in HaloPSA",
"Open in Autotask PSA" — the address each source's adapter gives), through the real DM path and the Slack stand-in
over HTTP; a help desk that cannot say falls back to Gaby's ticket page."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from sandbox.autotask import AutotaskSandbox
from sandbox.slack import SlackSandbox
from tests.agent.test_escalation_notices import escalated  # noqa: F401 (fixture)
from tests.agent.test_slack_escalation_dm import escalate_to_oncall, slack  # noqa: F401 (slack: a fixture)

pytestmark = pytest.mark.django_db

ZENDESK = {"base_url": "https://acme.zendesk.com", "email": "gaby@acme.example", "api_token": "z-token"}
HALO = {"base_url": "https://northwind.halopsa.com", "client_id": "c", "client_secret": "s", "halo_client_id": "12"}


@pytest.fixture(params=["zendesk", "halopsa", "autotask", "autotask-down"])
def source(request: Any, in_hartwell: Any) -> Iterator[Any]:
    """Overrides tests/agent/conftest.py's webhook source: the escalated ticket comes from this help desk."""
    from apps.tickets import services

    if request.param == "zendesk":
        yield services.create_source(client=in_hartwell, kind="zendesk", name="Zendesk", config=ZENDESK)
        return
    if request.param == "halopsa":
        yield services.create_source(client=in_hartwell, kind="halopsa", name="Halo", config=HALO)
        return
    with AutotaskSandbox() as at:
        config = {
            "webservices_url": at.base_url,
            # an API user Autotask does not know: its zone information is refused
            "username": "gaby-api@northwind.example" if request.param == "autotask" else "nobody@northwind.example",
            "secret": "at-secret",
            "integration_code": "GABYTRACKINGIDENTIFIER01",
            "at_company_id": "174",
        }
        request.node.autotask_web = f"{at.base_url}/"
        yield services.create_source(client=in_hartwell, kind="autotask", name="Autotask", config=config)


def _first_button(sandbox: SlackSandbox) -> dict[str, Any]:
    [dm] = sandbox.thread("D0ONCALL")
    first: dict[str, Any] = dm.blocks[-1]["elements"][0]
    return first


def test_the_escalation_dm_opens_the_ticket_in_its_help_desk(
    request: Any,
    source: Any,
    escalated: Any,  # noqa: F811
    slack: SlackSandbox,  # noqa: F811
    django_capture_on_commit_callbacks: Any,
) -> None:
    escalate_to_oncall(escalated, django_capture_on_commit_callbacks)
    button = _first_button(slack)
    external = escalated.ticket.external_id
    expected = {
        "zendesk": ("Open in Zendesk", f"https://acme.zendesk.com/agent/tickets/{external}"),
        "halopsa": ("Open in HaloPSA", f"https://northwind.halopsa.com/ticket?id={external}"),
        "autotask": (
            "Open in Autotask PSA",
            f"{getattr(request.node, 'autotask_web', '')}Autotask/AutotaskExtend/ExecuteCommand.aspx"
            f"?Code=OpenTicketDetail&TicketID={external}",
        ),
    }
    if source.name == "Autotask" and request.node.callspec.params["source"] == "autotask-down":
        assert button["text"]["text"] == "Open the ticket"  # Autotask cannot say: Gaby's page, the DM still goes
        assert button["url"].endswith(f"/inbox/t/{escalated.ticket_id}/")
        return
    label, url = expected[source.kind]
    assert (button["text"]["text"], button["url"]) == (label, url)
