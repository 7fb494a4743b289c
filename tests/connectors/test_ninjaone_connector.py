"""The first-party NinjaOne RMM connector through the real MCP host and run_tool, against the NinjaOne stand-in."""

from __future__ import annotations

import os
from collections.abc import Iterator
from io import StringIO
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django_tenants.utils import tenant_context

from apps.connectors import services
from apps.connectors.calls import ConnectorUnavailable
from apps.connectors.models import Access, Connector, Kind, Status
from apps.connectors.specs import ninjaone_draft
from apps.safety import enforcement
from apps.safety.models import ActionStatus, SafetyRule
from sandbox.ninjaone import NinjaOneSandbox
from sandbox.ninjaone_data import DEMO_SEED, GB
from tenants.models import Client
from tests.connectors.vendors import (
    allow_writes,
    call,
    close_sessions,  # noqa: F401 (autouse: servers end with each test)
    result,
)

SECRET = "ninja-secret-never-stored-in-clear-8080"
SEED: dict[str, Any] = {**DEMO_SEED, "clients": {"gaby-rmm": SECRET}, "script_seconds": 0.2}


@pytest.fixture
def ninja() -> Iterator[NinjaOneSandbox]:
    with NinjaOneSandbox(SEED) as sandbox:
        yield sandbox


def _connect(client: Any, actor: Any, ninja: NinjaOneSandbox, name: str = "RMM", **settings: Any) -> Connector:
    draft = ninjaone_draft(
        name=name,
        url=ninja.base_url,
        client_id="gaby-rmm",
        client_secret=SECRET,
        organizations=[1],
        allowed_scripts=["Disk Cleanup"],
    )
    draft.settings.update(settings)
    return services.connect(client=client, draft=draft, actor=actor)


@pytest.fixture
def rmm(in_hartwell: Any, people: dict[str, Any], ninja: NinjaOneSandbox) -> Connector:
    return _connect(in_hartwell, people["alice"], ninja)


def _threshold(client: Client, risk: int) -> None:
    """The client's approval threshold: writes whose risk reaches it wait for a human."""
    Client.objects.filter(pk=client.pk).update(approval_threshold=risk)
    client.refresh_from_db()


def _alert_of(ninja: NinjaOneSandbox, device_id: int) -> str:
    return next(uid for uid, alert in ninja.alerts.items() if alert["deviceId"] == device_id)


def test_it_lists_its_tools_as_reads_and_writes_and_seals_the_secret(rmm: Connector) -> None:
    access = dict(rmm.tools.values_list("name", "access"))
    reads = {"health_check", "list_organizations", "find_device", "device_health", "list_alerts", "list_services"}
    reads |= {"list_scripts", "script_status"}
    writes = {"restart_service", "start_service", "stop_service", "reset_alert", "run_script", "run_allowed_script"}
    assert access == {**dict.fromkeys(reads, Access.READ), **dict.fromkeys(writes, Access.WRITE)}
    assert rmm.kind == Kind.NINJAONE and "setting:client_secret" in rmm.secret_keys
    with connection.cursor() as cursor:
        cursor.execute("SELECT sealed_config FROM connectors_connector WHERE id = %s", [rmm.pk])
        assert SECRET not in cursor.fetchone()[0]
    tools = {tool.name: tool for tool in rmm.tools.filter(access=Access.WRITE)}
    assert all(tool.input_schema["properties"]["dry_run"]["type"] == "boolean" for tool in tools.values())
    assert tools["run_script"].destructive_hint is True and tools["run_allowed_script"].destructive_hint is False


def test_reads_see_only_the_connectors_organization(rmm: Connector, ninja: NinjaOneSandbox) -> None:
    assert result(call(rmm, "health_check"))["organizations"] == [1]
    orgs = result(call(rmm, "list_organizations"))["organizations"]
    assert [org["name"] for org in orgs] == ["Hartwell Law"]
    by_user = result(call(rmm, "find_device", query="jane.doe"))["devices"]
    assert [(d["systemName"], d["offline"]) for d in by_user] == [("HWL-LAPTOP-07", True)]
    everyone = result(call(rmm, "find_device"))["devices"]
    assert {d["organizationId"] for d in everyone} == {1} and len(everyone) == 4
    assert result(call(rmm, "find_device", query="DCPA"))["count"] == 0  # Dearborn's devices are not visible
    offline = result(call(rmm, "find_device", offline_only=True))["devices"]
    assert [d["id"] for d in offline] == [103]
    disk = result(call(rmm, "device_health", device_id=102))
    assert disk["health_status"] == "NEEDS_ATTENTION" and disk["volumes"][0]["free_percent"] == 1.6
    assert disk["alerts"][0]["source_type"] == "CONDITION_DISK_FREE_SPACE"
    spooler = result(call(rmm, "device_health", device_id=101))
    assert [s["name"] for s in spooler["auto_start_services_not_running"]] == ["Spooler"]
    alerts = result(call(rmm, "list_alerts"))["alerts"]
    assert sorted(a["device_id"] for a in alerts) == [101, 102, 103]  # not 202: another organization's
    stopped = result(call(rmm, "list_services", device_id=101, state="stopped"))["services"]
    assert [(s["name"], s["state"]) for s in stopped] == [("Spooler", "STOPPED")]
    scripts = {s["name"]: s["allowed_by_settings"] for s in result(call(rmm, "list_scripts", device_id=102))["scripts"]}
    assert scripts["Disk Cleanup"] is True and scripts["Clear Print Queue"] is False
    assert all(
        c.query.get("df") in (["org in (1)"], ["org in (1) AND offline"]) for c in ninja.calls("GET", "/v2/devices")
    )


def test_a_device_of_another_organization_is_refused(in_hartwell: Any, rmm: Connector, ninja: NinjaOneSandbox) -> None:
    allow_writes(in_hartwell, rmm)
    health = call(rmm, "device_health", device_id=202)
    assert health.result_is_error and "belongs to another organization" in health.result_text
    restart = call(rmm, "restart_service", device_id=201, service="Spooler", dry_run=False)
    assert restart.status == ActionStatus.FAILED and "belongs to another organization" in restart.result_text
    other = call(rmm, "reset_alert", alert_uid=_alert_of(ninja, 202), dry_run=False)
    assert other.status == ActionStatus.FAILED and "No open alert" in other.result_text
    wrong_org = call(rmm, "find_device", organization_id=2)
    assert wrong_org.result_is_error and "not one of this connector's" in wrong_org.result_text
    assert ninja.calls("POST", "/v2/device/") == [] and ninja.calls("DELETE") == []


def test_device_lists_follow_after_and_page_size(in_hartwell: Any, people: dict[str, Any]) -> None:
    devices = [{"id": 500 + n, "organizationId": 1, "systemName": f"BULK-{n:02d}"} for n in range(25)]
    with NinjaOneSandbox({**SEED, "devices": devices, "alerts": []}) as ninja:
        connector = _connect(in_hartwell, people["alice"], ninja, name="Bulk", page_size=10)
        found = result(call(connector, "find_device", query="bulk", limit=100))
        assert found["count"] == 25 and found["devices"][-1]["systemName"] == "BULK-24"
        first = result(call(connector, "find_device", query="bulk", limit=5))
        assert first["total"] == 25 and first["count"] == 5
        afters = [c.query.get("after") for c in ninja.calls("GET", "/v2/devices-detailed")]
        assert afters[:3] == [None, ["509"], ["519"]]


def test_the_device_health_query_follows_its_cursor(in_hartwell: Any, people: dict[str, Any]) -> None:
    with NinjaOneSandbox(SEED) as ninja:
        connector = _connect(in_hartwell, people["alice"], ninja, name="Cursor", page_size=1)
        assert result(call(connector, "device_health", device_id=103))["health_status"] == "UNHEALTHY"
        queries = ninja.calls("GET", "/v2/queries/device-health")
        assert queries[0].query["df"] == ["id = 103"] and queries[0].query["pageSize"] == ["1"]


def test_spooler_restart_dry_run_changes_nothing_then_the_real_run_does(
    in_hartwell: Any, rmm: Connector, ninja: NinjaOneSandbox, people: dict[str, Any]
) -> None:
    allow_writes(in_hartwell, rmm, scope="dry_run")
    dry = call(rmm, "restart_service", device_id=101, service="Print Spooler", dry_run=False)  # scope forces it
    assert dry.status == ActionStatus.DRY_RUN
    assert result(dry)["request"] == {
        "method": "POST",
        "path": "/v2/device/101/windows-service/Spooler/control",
        "body": {"action": "RESTART"},
    }
    assert ninja.service_actions == [] and ninja.service(101, "Spooler")["state"] == "STOPPED"
    offline = result(call(rmm, "restart_service", device_id=103, service="Spooler"))
    assert offline["would_send"] is False and "offline" in offline["blocked_by"][0]

    allow_writes(in_hartwell, rmm)
    restart = call(rmm, "restart_service", device_id=101, service="Spooler")
    assert restart.status == ActionStatus.DONE, restart.result_text
    assert result(restart)["state_before"] == "STOPPED" and result(restart)["state_after"] == "RUNNING"
    assert ninja.service_actions == [{"deviceId": 101, "service": "Spooler", "action": "RESTART"}]
    reset = call(rmm, "reset_alert", alert_uid=_alert_of(ninja, 101))
    assert reset.status == ActionStatus.DONE and len(ninja.resets) == 1
    assert result(call(rmm, "list_alerts", device_id=101))["count"] == 0

    _threshold(in_hartwell, 50)  # the default
    stop = call(rmm, "stop_service", device_id=101, service="Spooler")  # destructive: risk above the threshold
    assert stop.status == ActionStatus.AWAITING_APPROVAL and stop.risk == 65
    _threshold(in_hartwell, 100)
    stop = call(rmm, "stop_service", device_id=101, service="Spooler")
    assert stop.status == ActionStatus.DONE and ninja.service(101, "Spooler")["state"] == "STOPPED"
    assert stop.inverse == {"tool": "start_service", "arguments": {"device_id": 101, "service": "Spooler"}}
    undone = enforcement.undo(action=stop, actor=people["alice"])
    assert undone.status == ActionStatus.DONE and ninja.service(101, "Spooler")["state"] == "RUNNING"


def test_an_allowed_script_runs_and_is_polled_to_completion_with_its_output(
    in_hartwell: Any, rmm: Connector, ninja: NinjaOneSandbox
) -> None:
    allow_writes(in_hartwell, rmm, scope="dry_run")
    dry = result(call(rmm, "run_allowed_script", device_id=102, script="Disk Cleanup"))
    assert dry["dry_run"] is True and dry["request"]["body"] == {"type": "SCRIPT", "id": 41, "runAs": "system"}
    other = result(call(rmm, "run_script", device_id=102, script="44", parameters="-User temp"))
    assert other["allowed_by_settings"] is False and other["request"]["body"]["parameters"] == "-User temp"
    assert ninja.script_runs == []

    allow_writes(in_hartwell, rmm)
    _threshold(in_hartwell, 50)  # the default: allowed scripts run below it
    run = call(rmm, "run_allowed_script", device_id=102, script="disk cleanup")
    assert run.status == ActionStatus.DONE, run.result_text
    outcome = result(run)
    assert outcome["completed"] is True and outcome["result"] == "SUCCESS"
    assert "freed 18.6 GB on C:" in outcome["output"] and outcome["status"] == "COMPLETED"
    assert ninja.devices[102]["volumes"][0]["freeSpace"] > 22 * GB
    assert len(ninja.calls("GET", "/v2/device/102/activities")) >= 3  # before, then polled until it completed
    refused = call(rmm, "run_allowed_script", device_id=102, script="Clear Print Queue")
    assert (
        refused.status == ActionStatus.FAILED and "not among the scripts this connector allows" in refused.result_text
    )
    assert len(ninja.script_runs) == 1


def test_a_script_not_allowed_waits_for_approval_then_runs(
    in_hartwell: Any, rmm: Connector, ninja: NinjaOneSandbox, people: dict[str, Any]
) -> None:
    allow_writes(in_hartwell, rmm)
    _threshold(in_hartwell, 50)
    held = call(rmm, "run_script", device_id=101, script="Clear Print Queue", dry_run=False)
    assert held.status == ActionStatus.AWAITING_APPROVAL and held.risk == 65 and ninja.script_runs == []
    enforcement.approve(action=held, actor=people["alice"], note="front desk cannot print")
    assert enforcement.run_approved(str(held.pk))
    held.refresh_from_db()
    assert held.status == ActionStatus.DONE, held.result_text
    assert (
        "deleted 7 stuck job file(s)" in result(held)["output"] and ninja.service(101, "Spooler")["state"] == "RUNNING"
    )
    SafetyRule.objects.create(
        effect="deny",
        connector=rmm,
        tool_pattern="run_script",
        predicates=[{"argument": "script", "op": "eq", "value": "Collect Network Info"}],
    )
    denied = call(rmm, "run_script", device_id=102, script="Collect Network Info")
    assert denied.status == ActionStatus.DENIED and "Denied by rule" in denied.reason
    failing = call(rmm, "run_script", device_id=102, script="Remove Local Admin", parameters="-User temp")
    enforcement.approve(action=failing, actor=people["alice"])
    assert enforcement.run_approved(str(failing.pk))
    failing.refresh_from_db()
    assert failing.status == ActionStatus.DONE and result(failing)["result"] == "FAILURE"
    assert "Principal was not found" in result(failing)["output"] and "failed" in result(failing)["note"]


def test_any_script_waits_for_a_person_whatever_the_threshold_unless_an_allow_rule_names_it(
    in_hartwell: Any, rmm: Connector, ninja: NinjaOneSandbox
) -> None:
    # Failed before: run_script's approval rode on its risk (65), so a client with a threshold above it ran any
    # library script unattended. The tool's _meta now says every call waits, whatever the threshold.
    allow_writes(in_hartwell, rmm)
    _threshold(in_hartwell, 100)
    held = call(rmm, "run_script", device_id=101, script="Clear Print Queue", dry_run=False)
    assert held.status == ActionStatus.AWAITING_APPROVAL and "always waits for a person" in held.reason
    assert ninja.script_runs == []
    SafetyRule.objects.create(
        effect="allow",
        connector=rmm,
        tool_pattern="run_script",
        predicates=[{"argument": "script", "op": "eq", "value": "Clear Print Queue"}],
    )
    ran = call(rmm, "run_script", device_id=101, script="Clear Print Queue", dry_run=False)
    assert ran.status == ActionStatus.DONE, ran.reason
    other = call(rmm, "run_script", device_id=101, script="Remove Local Admin", dry_run=False)
    assert other.status == ActionStatus.AWAITING_APPROVAL  # the rule names one script, not the tool


def test_a_long_script_is_returned_as_running_and_its_status_read_later(
    in_hartwell: Any, people: dict[str, Any]
) -> None:
    with NinjaOneSandbox({**SEED, "script_seconds": 3600}) as ninja:
        connector = _connect(in_hartwell, people["alice"], ninja, name="Slow", script_wait_s=1)
        allow_writes(in_hartwell, connector)
        running = result(call(connector, "run_allowed_script", device_id=102, script="41", dry_run=False))
        assert running["completed"] is False and running["status"] == "START_REQUESTED" and running["series_uid"]
        ninja.script_seconds = 0
        for pending in ninja._pending:  # the script finishes on NinjaOne's side
            pending["due"] = 0
        done = result(call(connector, "script_status", device_id=102, series_uid=running["series_uid"]))
        assert done["completed"] is True and "freed" in done["output"]


def test_rate_limits_are_retried_and_vendor_errors_are_clear(rmm: Connector, ninja: NinjaOneSandbox) -> None:
    ninja.fail_next(429, path="/v2/device/101", method="GET", headers={"Retry-After": "1"})
    assert result(call(rmm, "list_services", device_id=101))["device"] == "HWL-RECEPTION-01"
    assert [c.status for c in ninja.calls("GET", "/v2/device/101")][:2] == [429, 200]
    body = {"resultCode": "INVALID_PARAMETER", "errorMessage": "state filter not supported", "incidentId": "x"}
    ninja.fail_next(400, path="/v2/device/101/windows-services", body=body)
    broken = call(rmm, "list_services", device_id=101)
    assert broken.result_is_error and "NinjaOne answered HTTP 400: state filter not supported" in broken.result_text
    ninja.fail_next(429, path="/v2/alerts", headers={"Retry-After": "300"})
    slow = call(rmm, "list_alerts")
    assert slow.result_is_error and "try again in 300s" in slow.result_text


def test_a_script_run_that_fails_with_a_5xx_is_not_sent_again(
    in_hartwell: Any, rmm: Connector, ninja: NinjaOneSandbox
) -> None:
    allow_writes(in_hartwell, rmm)
    ninja.fail_next(502, path="/v2/device/102/script/run")
    action = call(rmm, "run_allowed_script", device_id=102, script="Disk Cleanup", dry_run=False)
    assert action.status == ActionStatus.FAILED and "HTTP 502" in action.result_text
    assert len(ninja.calls("POST", "/v2/device/102/script/run")) == 1 and ninja.script_runs == []


def test_an_expired_token_is_replaced_and_the_call_goes_through(rmm: Connector, ninja: NinjaOneSandbox) -> None:
    assert result(call(rmm, "device_health", device_id=101))["device"]["id"] == 101
    issued = ninja.tokens_issued
    ninja.expire_tokens()
    assert result(call(rmm, "list_services", device_id=101))["services"]
    assert ninja.tokens_issued == issued + 1
    assert [c.status for c in ninja.calls("GET", "/v2/device/101")][-3:-1] == [401, 200]
    token_calls = ninja.calls("POST", "/ws/oauth/token")
    assert b"scope=monitoring+management+control" in token_calls[-1].body


def test_wrong_credentials_or_organizations_fail_the_connection_test(
    in_hartwell: Any, people: dict[str, Any], ninja: NinjaOneSandbox
) -> None:
    bad = ninjaone_draft(name="RMM", url=ninja.base_url, client_id="gaby-rmm", client_secret="bad", organizations=[1])
    with pytest.raises(ConnectorUnavailable, match="refused the connector's credentials"):
        services.test_connection(client=in_hartwell, draft=bad, actor=people["alice"])
    none = ninjaone_draft(name="RMM", url=ninja.base_url, client_id="gaby-rmm", client_secret=SECRET, organizations=[])
    with pytest.raises(Exception, match="organization id"):
        services.test_connection(client=in_hartwell, draft=none, actor=people["alice"])
    unknown = ninjaone_draft(
        name="RMM", url=ninja.base_url, client_id="gaby-rmm", client_secret=SECRET, organizations=[1, 99]
    )
    with pytest.raises(ConnectorUnavailable, match="no organization 99"):
        services.test_connection(client=in_hartwell, draft=unknown, actor=people["alice"])
    assert not Connector.objects.filter(name="RMM").exists()


def _connect_cli(ninja: NinjaOneSandbox, *extra: str, out: StringIO | None = None) -> None:
    base = ["--client", "hartwell", "--url", ninja.base_url, "--client-id", "gaby-rmm", "--organization", "1"]
    call_command("gaby", "connect", "ninjaone", *base, *extra, stdout=out or StringIO())


def test_cli_connects_ninjaone_with_the_secret_from_the_environment(hartwell: Any, ninja: NinjaOneSandbox) -> None:
    out = StringIO()
    os.environ["NINJA_TEST_SECRET"] = SECRET
    try:
        _connect_cli(ninja, "--client-secret-env", "NINJA_TEST_SECRET", "--allow-script", "Disk Cleanup", out=out)
    finally:
        del os.environ["NINJA_TEST_SECRET"]
    text = out.getvalue()
    assert "Connected NinjaOne to Hartwell Law: 14 tools" in text and "write run_script" in text
    assert SECRET not in text
    with pytest.raises(CommandError, match="nothing was saved"):
        _connect_cli(ninja, "--client-secret", "wrong", "--name", "Other")


def test_admin_connects_ninjaone_on_one_screen(as_user: Any, hartwell: Any, ninja: NinjaOneSandbox) -> None:
    alice = as_user("alice", "hartwell")
    page = alice.get("/connectors/new/ninjaone/")
    assert page.status_code == 200 and "Organization ids" in page.content.decode()
    assert 'href="/connectors/new/ninjaone/"' in alice.get("/connectors/").content.decode()
    form = {
        "name": "RMM",
        "url": ninja.base_url,
        "client_id": "gaby-rmm",
        "client_secret": SECRET,
        "organizations": "1",
        "allowed_scripts": "Disk Cleanup",
        "autonomy": "investigate",
    }
    probe = alice.post("/connectors/new/ninjaone/test/", form, HTTP_HX_REQUEST="true")
    assert probe.status_code == 200 and "14 tools found" in probe.content.decode()
    bad = alice.post("/connectors/new/ninjaone/test/", {**form, "organizations": "one"}, HTTP_HX_REQUEST="true")
    assert bad.status_code == 400 and "organization ids as numbers" in bad.content.decode()
    assert alice.post("/connectors/new/ninjaone/save/", form, HTTP_HX_REQUEST="true").status_code == 204
    with tenant_context(hartwell):
        connector = Connector.objects.get(name="RMM")
        assert connector.kind == Kind.NINJAONE and SECRET not in connector.sealed_config
    assert SECRET not in alice.get(f"/connectors/{connector.pk}/").content.decode()
    assert as_user("bob", "hartwell").get("/connectors/new/ninjaone/").status_code == 403


def test_health_checks_ask_ninjaone_not_just_the_server(rmm: Connector, ninja: NinjaOneSandbox) -> None:
    assert services.check_health(connector=rmm) == Status.HEALTHY
    ninja.clients["gaby-rmm"] = "rotated-in-ninjaone"
    ninja.expire_tokens()
    assert services.check_health(connector=rmm) == Status.DEGRADED
    rmm.refresh_from_db()
    assert "refused the connector's credentials" in rmm.last_error
    ninja.clients["gaby-rmm"] = SECRET
    assert services.check_health(connector=rmm) == Status.HEALTHY


def test_find_device_by_user_matches_only_who_signed_in(rmm: Connector) -> None:
    assert [d["systemName"] for d in result(call(rmm, "find_device", user="maria.lopez"))["devices"]] == [
        "HWL-RECEPTION-01"
    ]
    assert result(call(rmm, "find_device", user="reception"))["count"] == 0  # a device name is not a person
    assert result(call(rmm, "find_device", query="reception"))["count"] == 1
