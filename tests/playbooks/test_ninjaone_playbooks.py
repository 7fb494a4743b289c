"""The NinjaOne playbooks, through the real gate and the real connector: the NinjaOne stand-in over HTTP → the MCP
server subprocess → ``run_tool`` (tests/playbooks/harness.py)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from apps.agent import playbooks
from apps.agent.contracts import Verdict
from apps.connectors import services
from apps.connectors.models import Connector
from apps.connectors.specs import ninjaone_draft
from apps.safety.models import ToolAction
from sandbox.ninjaone import NinjaOneSandbox
from sandbox.ninjaone_data import DEMO_SEED
from tests.connectors.vendors import allow_writes, close_sessions  # noqa: F401 (autouse: servers end with each test)
from tests.playbooks.harness import GateContext, ticket

SECRET = "ninja-playbook-secret-3141"
SEED: dict[str, Any] = {**DEMO_SEED, "clients": {"gaby-rmm": SECRET}}
PRINTING = "I can't print anything since this morning, the documents just sit in the queue."


@pytest.fixture
def ninja() -> Iterator[NinjaOneSandbox]:
    with NinjaOneSandbox(SEED) as sandbox:
        yield sandbox


@pytest.fixture
def rmm(in_hartwell: Any, people: dict[str, Any], ninja: NinjaOneSandbox) -> Connector:
    draft = ninjaone_draft(
        name="RMM", url=ninja.base_url, client_id="gaby-rmm", client_secret=SECRET, organizations=[1]
    )
    return allow_writes(in_hartwell, services.connect(client=in_hartwell, draft=draft, actor=people["alice"]))


def _printing(email: str) -> Any:
    return playbooks.decide(GateContext(ticket("Printing doesn't work", PRINTING, contact_email=email)))


def test_a_stopped_spooler_on_the_requesters_computer_is_restarted(rmm: Connector, ninja: NinjaOneSandbox) -> None:
    finding = _printing("maria.lopez@hartwelllaw.com")
    assert finding is not None and finding.decided_by == "playbook:ninjaone-print-spooler", finding
    assert finding.verdict == Verdict.AUTO_RESOLVED, finding.summary
    assert "HWL-RECEPTION-01" in finding.reply and ninja.service(101, "Spooler")["state"] == "RUNNING"


def test_an_offline_computer_goes_to_a_person(rmm: Connector) -> None:
    finding = _printing("jane.doe@hartwelllaw.com")
    assert finding is not None and finding.verdict == Verdict.NEEDS_L2 and "offline" in finding.escalation_reason
    assert not ToolAction.objects.filter(tool_name="restart_service").exists()


def test_a_running_spooler_is_not_restarted(rmm: Connector) -> None:
    finding = _printing("sam.hartwell@hartwelllaw.com")
    assert finding is not None and finding.verdict == Verdict.NEEDS_L2, finding
    assert "is running" in finding.escalation_reason
    assert not ToolAction.objects.filter(tool_name="restart_service").exists()


def test_a_computer_is_chosen_by_who_signed_in_to_it_never_by_its_name(rmm: Connector, ninja: NinjaOneSandbox) -> None:
    # Failed before: "reception@…" matched HWL-RECEPTION-01 by name (Maria's computer) and its spooler was restarted
    # for someone who never signed in to it.
    finding = _printing("reception@hartwelllaw.com")
    assert finding is not None and finding.verdict == Verdict.NEEDS_L2 and "no computer" in finding.escalation_reason
    assert not ToolAction.objects.filter(tool_name="restart_service").exists()
    assert ninja.service(101, "Spooler")["state"] == "STOPPED"
