"""The NinjaOne playbooks, through the real gate and the real connector: the NinjaOne stand-in over HTTP → the MCP
server subprocess → ``run_tool`` (tests/playbooks/harness.py)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from apps.agent import playbooks
from apps.agent.contracts import Verdict
from apps.connectors import services
from apps.connectors.models import Connector
from apps.connectors.specs import ninjaone_draft
from apps.safety import enforcement
from apps.safety.models import ActionStatus, ToolAction
from sandbox.ninjaone import NinjaOneSandbox
from sandbox.ninjaone_data import DEMO_SEED, GB, alert_record
from tests.connectors.vendors import allow_writes, close_sessions  # noqa: F401 (autouse: servers end with each test)
from tests.playbooks.harness import GateContext, ticket

SECRET = "ninja-playbook-secret-3141"
SEED: dict[str, Any] = {**DEMO_SEED, "clients": {"gaby-rmm": SECRET}}
PRINTING = "I can't print anything since this morning, the documents just sit in the queue."


@pytest.fixture
def ninja() -> Iterator[NinjaOneSandbox]:
    with NinjaOneSandbox(SEED) as sandbox:
        yield sandbox


def _connect(client: Any, actor: Any, ninja: NinjaOneSandbox, allowed_scripts: list[str]) -> Connector:
    draft = ninjaone_draft(
        name="RMM",
        url=ninja.base_url,
        client_id="gaby-rmm",
        client_secret=SECRET,
        organizations=[1],
        allowed_scripts=allowed_scripts,
    )
    return allow_writes(client, services.connect(client=client, draft=draft, actor=actor))


@pytest.fixture
def rmm(in_hartwell: Any, people: dict[str, Any], ninja: NinjaOneSandbox) -> Connector:
    return _connect(in_hartwell, people["alice"], ninja, [])


def _decide(title: str, body: str, email: str) -> Any:
    return playbooks.decide(GateContext(ticket(title, body, contact_email=email)))


def _printing(email: str) -> Any:
    return _decide("Printing doesn't work", PRINTING, email)


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


# --- disk clean-up: run_allowed_script when the client's connector allows the script, else run_script (approval) ---

DISK_FULL = "My C: drive is full, Windows keeps warning about low disk space and I can't save files."


def _disk(email: str) -> Any:
    return _decide("Low disk space", DISK_FULL, email)


def _free_gb(ninja: NinjaOneSandbox, device_id: int) -> float:
    volume = ninja.devices[device_id]["volumes"][0]
    return round(volume["freeSpace"] / GB, 1)


def test_a_full_disk_clean_up_waits_for_approval_when_the_connector_does_not_allow_it(
    rmm: Connector, ninja: NinjaOneSandbox, people: dict[str, Any]
) -> None:
    finding = _disk("sam.hartwell@hartwelllaw.com")
    assert finding is not None and finding.decided_by == "playbook:ninjaone-disk-cleanup", finding
    held = ToolAction.objects.get(tool_name="run_script")
    assert held.status == ActionStatus.AWAITING_APPROVAL and "always waits for a person" in held.reason
    assert held.arguments["device_id"] == 102 and held.arguments["script"] == "Disk Cleanup"
    assert finding.verdict == Verdict.NEEDS_L2 and "4.1 GB free" in finding.escalation_reason
    assert "does not allow Disk Cleanup" in " ".join(finding.escalation_reason.split())
    assert not ToolAction.objects.filter(tool_name="run_allowed_script").exists()
    assert ninja.script_runs == [] and _free_gb(ninja, 102) == 4.1
    enforcement.approve(action=held, actor=people["alice"], note="partner's laptop, ok to clean")
    assert enforcement.run_approved(str(held.pk))
    held.refresh_from_db()
    assert held.status == ActionStatus.DONE and "freed 18.6 GB" in json.loads(held.result_text)["output"]
    assert _free_gb(ninja, 102) == 22.7


def test_when_the_connector_allows_the_script_it_runs_and_free_space_is_checked_after(
    in_hartwell: Any, people: dict[str, Any], ninja: NinjaOneSandbox
) -> None:
    _connect(in_hartwell, people["alice"], ninja, ["Disk Cleanup"])
    finding = _disk("sam.hartwell@hartwelllaw.com")
    assert finding is not None and finding.verdict == Verdict.AUTO_RESOLVED, finding and finding.summary
    ran = ToolAction.objects.get(tool_name="run_allowed_script")
    assert ran.status == ActionStatus.DONE and json.loads(ran.result_text)["completed"] is True
    assert not ToolAction.objects.filter(tool_name="run_script").exists()  # one path, never both
    assert [(run["deviceId"], run["scriptId"], run["parameters"]) for run in ninja.script_runs] == [
        (102, 41, "-Drive C:")
    ]
    reply = " ".join(finding.reply.split())
    assert "HWL-PARTNER-02" in reply and "only 4.1 GB free" in reply and "now has 22.7 GB free" in reply
    assert "freed 18.6 GB" in finding.summary  # the script's own output, as the result
    assert ToolAction.objects.filter(tool_name="device_health").count() == 2  # before and after


def test_the_connector_allows_named_scripts_not_every_script(
    in_hartwell: Any, people: dict[str, Any], ninja: NinjaOneSandbox
) -> None:
    _connect(in_hartwell, people["alice"], ninja, ["Clear Print Queue"])
    finding = _disk("sam.hartwell@hartwelllaw.com")
    assert finding is not None and finding.verdict == Verdict.NEEDS_L2, finding
    assert ToolAction.objects.get(tool_name="run_script").status == ActionStatus.AWAITING_APPROVAL
    assert not ToolAction.objects.filter(tool_name="run_allowed_script").exists()
    assert ninja.script_runs == []


def test_a_disk_with_room_to_spare_and_an_offline_computer_run_nothing(rmm: Connector, ninja: NinjaOneSandbox) -> None:
    roomy = _disk("maria.lopez@hartwelllaw.com")  # HWL-RECEPTION-01: 121 GB free
    assert roomy is not None and roomy.verdict == Verdict.NEEDS_L2 and "not short of space" in roomy.escalation_reason
    offline = _disk("jane.doe@hartwelllaw.com")  # HWL-LAPTOP-07 is offline
    assert offline is not None and "offline" in offline.escalation_reason, offline
    assert not ToolAction.objects.filter(tool_name="run_script").exists() and ninja.script_runs == []


def test_a_question_about_disk_space_runs_no_script(rmm: Connector) -> None:
    finding = _decide("Disk space", "How do I see how much space is left on my drive?", "sam.hartwell@hartwelllaw.com")
    assert finding is None or finding.decided_by != "playbook:ninjaone-disk-cleanup", finding
    assert not ToolAction.objects.filter(tool_name="run_script").exists()


# --- device offline alert triage: evidence and an escalation, never an action --------------------------------------

ALERT_TITLE = "NinjaOne Alert: Device offline - HWL-LAPTOP-07"
ALERT_BODY = (
    "Organization: Hartwell Law\nDevice: HWL-LAPTOP-07\nCondition: Device offline\n"
    "HWL-LAPTOP-07 has not checked in for 26 hours.\n\nThis alert was generated by NinjaOne."
)


def _alert(title: str = ALERT_TITLE, body: str = ALERT_BODY) -> Any:
    return _decide(title, body, "alerts@msp.example")


def test_an_offline_alert_is_escalated_with_the_evidence_and_nothing_is_done(
    rmm: Connector, ninja: NinjaOneSandbox
) -> None:
    finding = _alert()
    assert finding is not None and finding.decided_by == "playbook:ninjaone-offline-alert", finding
    assert finding.verdict == Verdict.NEEDS_TECH
    reason = " ".join(finding.escalation_reason.split())
    assert "HWL-LAPTOP-07 is offline: last contact 2025-11-12T00:13:20" in reason, reason  # 26 hours before "now"
    assert "Other open alerts: 2." in reason  # the stopped spooler and the full disk, both Hartwell's
    assert "last user HARTWELL\\jane.doe" in reason and "Device offline (" in reason
    assert "only this device" in reason  # LSD-XRAY-01 is offline too, but in another client's organization
    assert not ToolAction.objects.filter(access="write").exists() and ninja.resets == []


def test_several_offline_devices_of_the_client_are_named_in_the_evidence(
    rmm: Connector, ninja: NinjaOneSandbox
) -> None:
    ninja.set_offline(104, True)  # the file server went down with it: the site, not the laptop
    raw = {"deviceId": 104, "sourceType": "CONDITION_AGENT_OFFLINE", "sourceName": "Device offline"}
    alert = alert_record({**raw, "message": "HWL-FS-01 has not checked in for 25 hours."}, 99)
    with ninja.lock:
        ninja.alerts[alert["uid"]] = alert
    finding = _alert()
    assert finding is not None and finding.verdict == Verdict.NEEDS_TECH, finding
    assert "HWL-FS-01 has not checked in for 25 hours" in finding.escalation_reason


def test_a_device_back_online_closes_the_alert_ticket(rmm: Connector, ninja: NinjaOneSandbox) -> None:
    ninja.set_offline(103, False)
    finding = _alert()
    assert finding is not None and finding.verdict == Verdict.AUTO_RESOLVED, finding and finding.summary
    assert "HWL-LAPTOP-07 is back online" in finding.reply
    assert not ToolAction.objects.filter(access="write").exists()


def test_an_alert_for_another_clients_device_is_not_triaged_here(rmm: Connector) -> None:
    finding = _alert("NinjaOne Alert: Device offline - LSD-XRAY-01", "LSD-XRAY-01 has not checked in for 6 days.")
    assert finding is not None and finding.verdict == Verdict.NEEDS_L2, finding
    assert "not a device of this client's NinjaOne organizations" in finding.escalation_reason


def test_a_users_own_connection_problem_is_not_an_alert(rmm: Connector) -> None:
    wifi = "My laptop cannot connect to the office wifi since this morning, it says no internet."
    finding = _decide("Wifi", wifi, "jane.doe@hartwelllaw.com")
    assert finding is None or finding.decided_by != "playbook:ninjaone-offline-alert", finding
