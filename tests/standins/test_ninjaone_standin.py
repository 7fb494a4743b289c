"""The NinjaOne stand-in answers as NinjaOne's public API v2 documents (what the connector tests rely on)."""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx
import pytest

from sandbox.ninjaone import NinjaOneSandbox
from sandbox.ninjaone_data import DEMO_SEED

SECRET = DEMO_SEED["clients"]["gaby-rmm"]


@pytest.fixture
def ninja() -> Iterator[NinjaOneSandbox]:
    with NinjaOneSandbox({**DEMO_SEED, "script_seconds": 0.2}) as sandbox:
        yield sandbox


def _client(ninja: NinjaOneSandbox, scope: str = "monitoring management control") -> httpx.Client:
    token = httpx.post(
        f"{ninja.base_url}/ws/oauth/token",
        data={"grant_type": "client_credentials", "client_id": "gaby-rmm", "client_secret": SECRET, "scope": scope},
    )
    assert token.status_code == 200 and token.json()["token_type"] == "Bearer"
    headers = {"Authorization": f"Bearer {token.json()['access_token']}"}
    return httpx.Client(base_url=f"{ninja.base_url}/v2", headers=headers)


def test_tokens_scopes_and_errors(ninja: NinjaOneSandbox) -> None:
    url = f"{ninja.base_url}/ws/oauth/token"
    bad = httpx.post(url, data={"grant_type": "client_credentials", "client_id": "gaby-rmm", "client_secret": "x"})
    assert bad.status_code == 401 and bad.json()["error"] == "invalid_client"
    form = {"grant_type": "client_credentials", "client_id": "gaby-rmm", "client_secret": SECRET, "scope": "root"}
    assert httpx.post(url, data=form).json()["error"] == "invalid_scope"
    anonymous = httpx.get(f"{ninja.base_url}/v2/organizations")
    assert anonymous.status_code == 401 and set(anonymous.json()) == {"resultCode", "errorMessage", "incidentId"}
    reader = _client(ninja, scope="monitoring")
    assert reader.get("/organizations").status_code == 200
    refused = reader.post("/device/101/windows-service/Spooler/control", json={"action": "RESTART"})
    assert refused.status_code == 403 and "management" in refused.json()["errorMessage"]
    ninja.expire_tokens()
    assert reader.get("/organizations").status_code == 401
    missing = _client(ninja).get("/device/999")
    assert missing.status_code == 404 and missing.json()["resultCode"] == "DEVICE_NOT_FOUND"


def test_device_lists_page_with_after_and_filter_with_df(ninja: NinjaOneSandbox) -> None:
    api = _client(ninja)
    first = api.get("/devices", params={"pageSize": 3}).json()
    assert [d["id"] for d in first] == [101, 102, 103] and "lastLoggedInUser" not in first[0]
    rest = api.get("/devices-detailed", params={"pageSize": 3, "after": 103}).json()
    assert [d["id"] for d in rest] == [104, 201, 202] and rest[0]["os"]["name"] == "Windows Server 2022 Standard"
    org = api.get("/devices", params={"df": "org in (1, 3) AND offline"}).json()
    assert [d["id"] for d in org] == [103, 301]
    bad = api.get("/devices", params={"df": "name like HWL"})
    assert bad.status_code == 400 and "Unsupported device filter" in bad.json()["errorMessage"]
    alerts = api.get("/alerts", params={"df": "org = 2"}).json()
    assert [a["deviceId"] for a in alerts] == [202]


def test_the_device_health_query_pages_with_a_cursor(ninja: NinjaOneSandbox) -> None:
    api = _client(ninja)
    page = api.get("/queries/device-health", params={"pageSize": 4}).json()
    assert len(page["data"]) == 4 and page["cursor"]["name"]
    following = api.get("/queries/device-health", params={"cursor": page["cursor"]["name"], "pageSize": 4}).json()
    assert [row["deviceId"] for row in following["data"]] == [201, 202, 301] and following["cursor"]["name"] == ""
    statuses = {row["deviceId"]: row["healthStatus"] for row in page["data"] + following["data"]}
    assert statuses[101] == "NEEDS_ATTENTION" and statuses[103] == "UNHEALTHY" and statuses[104] == "HEALTHY"
    stale = api.get("/queries/device-health", params={"cursor": page["cursor"]["name"]})
    assert stale.status_code == 400 and stale.json()["resultCode"] == "INVALID_CURSOR"


def test_service_control_and_alert_reset_answer_204(ninja: NinjaOneSandbox) -> None:
    api = _client(ninja)
    wrong = api.post("/device/101/windows-service/Spooler/control", json={"action": "KICK"})
    assert wrong.status_code == 400
    assert api.post("/device/101/windows-service/Spooler/control", json={"action": "RESTART"}).status_code == 204
    running = api.get("/device/101/windows-services", params={"name": "Print Spooler"}).json()
    assert [(s["name"], s["state"]) for s in running] == [("Spooler", "RUNNING")]
    offline = api.post("/device/103/windows-service/Spooler/control", json={"action": "START"})
    assert offline.status_code == 400 and offline.json()["resultCode"] == "DEVICE_OFFLINE"
    uid = api.get("/device/101/alerts").json()[0]["uid"]
    assert api.delete(f"/alert/{uid}").status_code == 204 and api.delete(f"/alert/{uid}").status_code == 404


def test_a_script_run_ends_in_the_device_activities_and_waits_for_an_offline_device(ninja: NinjaOneSandbox) -> None:
    api = _client(ninja)
    options = api.get("/device/102/scripting/options").json()
    assert "system" in options["credentials"]["roles"] and {s["type"] for s in options["scripts"]} == {"SCRIPT"}
    assert api.post("/device/102/script/run", json={"type": "SCRIPT", "id": 41, "runAs": "root"}).status_code == 400
    assert api.post("/device/102/script/run", json={"type": "SCRIPT", "id": 41, "runAs": "system"}).status_code == 204
    started = api.get("/device/102/activities", params={"activityType": "ACTION"}).json()["activities"]
    assert [a["statusCode"] for a in started] == ["START_REQUESTED"]
    time.sleep(0.3)
    series = api.get("/device/102/activities", params={"seriesUid": started[0]["seriesUid"]}).json()["activities"]
    assert [a["statusCode"] for a in series] == ["COMPLETED", "START_REQUESTED"]
    assert series[0]["activityResult"] == "SUCCESS" and "freed 18.6 GB" in series[0]["message"]
    ninja.set_offline(102, True)
    api.post("/device/102/script/run", json={"type": "SCRIPT", "id": 43, "parameters": "10.0.0.9"})
    time.sleep(0.3)
    newest = api.get("/device/102/activities", params={"pageSize": 1}).json()["activities"][0]
    assert newest["statusCode"] == "START_REQUESTED" and newest["sourceName"] == "Collect Network Info"
    ninja.set_offline(102, False)
    done = api.get("/device/102/activities", params={"pageSize": 1}).json()["activities"][0]
    assert done["statusCode"] == "COMPLETED" and "Pinging 10.0.0.9" in done["message"]


def test_injected_faults_come_before_the_api(ninja: NinjaOneSandbox) -> None:
    api = _client(ninja)
    ninja.fail_next(429, path="/v2/devices", headers={"Retry-After": "2"})
    limited = api.get("/devices")
    assert limited.status_code == 429 and limited.headers["Retry-After"] == "2"
    assert limited.json()["resultCode"] == "FAILURE" and api.get("/devices").status_code == 200
