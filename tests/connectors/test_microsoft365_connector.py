"""The first-party Microsoft 365 connector: the Graph stand-in over HTTPS → the real msgraph-sdk and azure-identity in
the real MCP server subprocess → the host → ``run_tool`` (the safety gate)."""

from __future__ import annotations

import copy
import hashlib
import os
import re
import ssl
import time
from collections.abc import Iterator
from io import StringIO
from typing import Any

import httpx
import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from apps.connectors import services
from apps.connectors.calls import ConnectorUnavailable
from apps.connectors.models import Access, Connector, Kind, Status
from apps.connectors.specs import microsoft365_draft
from apps.core.secrets import unseal_json
from apps.safety import enforcement
from apps.safety.models import ActionStatus
from apps.safety.tool_secrets import SEALED
from sandbox.msgraph import GraphSandbox
from sandbox.msgraph_data import ALL_ROLES, DEARBORN, DEMO_CLIENT_ID, DEMO_SEED, HARTWELL, Tenant
from tests.connectors.vendors import (
    M365_READS,
    M365_WRITES,
    allow_writes,
    call,
    close_sessions,  # noqa: F401 (autouse: servers end with each test)
    result,
)

SECRET = "m365-secret-never-stored-in-clear-8472"
READ_ONLY_APP = "1a2b3c4d-0000-4000-8000-00000000beef"


def _seed() -> dict[str, Any]:
    seed = copy.deepcopy(DEMO_SEED)
    hartwell = seed["tenants"][0]
    hartwell["apps"] = {
        DEMO_CLIENT_ID: {"secret": SECRET},
        READ_ONLY_APP: {"secret": SECRET, "roles": ["User.Read.All", "Domain.Read.All"]},
    }
    hartwell["users"] += [  # three display names starting with "J": paging has something to follow
        {"userPrincipalName": "jordan.lee@hartwelllaw.com", "displayName": "Jordan Lee", "usageLocation": "US"},
        {"userPrincipalName": "jamie.fox@hartwelllaw.com", "displayName": "Jamie Fox"},
    ]
    return seed


@pytest.fixture
def graph() -> Iterator[GraphSandbox]:
    with GraphSandbox(_seed()) as sandbox:
        yield sandbox


def _draft(
    graph: GraphSandbox, *, tenant: str = HARTWELL, client_id: str = DEMO_CLIENT_ID, secret: str = SECRET
) -> Any:
    return microsoft365_draft(
        name="Microsoft 365",
        tenant_id=tenant,
        client_id=client_id,
        client_secret=secret,
        authority=graph.base_url,
        graph_url=graph.base_url,
        ca_file=graph.ca_file,
    )


def _connect(client: Any, actor: Any, graph: GraphSandbox, name: str = "Microsoft 365", **settings: Any) -> Connector:
    draft = _draft(graph, **{k: settings.pop(k) for k in ("tenant", "client_id", "secret") if k in settings})
    draft.name = name
    draft.settings.update(settings)
    return services.connect(client=client, draft=draft, actor=actor)  # actor: MSP staff may set a CA file


@pytest.fixture
def m365(in_hartwell: Any, people: dict[str, Any], graph: GraphSandbox) -> Connector:
    return _connect(in_hartwell, people["mona"], graph)


def _hartwell(graph: GraphSandbox) -> Tenant:
    return graph.tenant(HARTWELL)


def _id(graph: GraphSandbox, upn: str) -> str:
    user = _hartwell(graph).user(upn)
    assert user is not None
    return str(user["id"])


def _device(graph: GraphSandbox, name: str) -> str:
    return next(d["id"] for d in _hartwell(graph).devices.values() if d["deviceName"] == name)


def _writes(graph: GraphSandbox) -> list[Any]:
    return [c for c in graph.calls() if c.path.startswith("/v1.0") and c.method in ("PATCH", "POST", "DELETE")]


def test_it_lists_reads_and_writes_and_seals_the_secret(m365: Connector) -> None:
    access = dict(m365.tools.values_list("name", "access"))
    assert {name for name, kind in access.items() if kind == Access.READ} == M365_READS
    assert {name for name, kind in access.items() if kind == Access.WRITE} == M365_WRITES
    destructive = set(m365.tools.filter(destructive_hint=True).values_list("name", flat=True))
    assert {"wipe_device", "retire_device", "remove_license"} <= destructive
    assert not {"sync_device", "assign_license", "add_group_member"} & destructive
    assert m365.kind == Kind.MICROSOFT365 and "setting:client_secret" in m365.secret_keys
    with connection.cursor() as cursor:
        cursor.execute("SELECT sealed_config FROM connectors_connector WHERE id = %s", [m365.pk])
        assert SECRET not in cursor.fetchone()[0]


def test_reads_explain_why_a_user_cannot_sign_in(m365: Connector, graph: GraphSandbox) -> None:
    health = result(call(m365, "health_check"))
    assert health["ok"] is True and health["default_domain"] == "hartwelllaw.com"
    found = result(call(m365, "find_user", query="Jane.Doe@hartwelllaw.com"))
    assert found["matched_by"] == "exact sign-in name or email" and found["users"][0]["full_name"] == "Jane Doe"
    jane = found["users"][0]["id"]
    state = result(call(m365, "sign_in_state", user="jane.doe@hartwelllaw.com"))
    assert state["account_enabled"] is True and state["last_sign_in"] == "2026-12-07T07:55:00+00:00"
    assert state["risk"]["level"] == "medium" and state["risk"]["state"] == "atRisk"
    assert state["mfa_methods"] == 2 and state["methods"] == ["password", "microsoftAuthenticator", "phone"]
    assert result(call(m365, "sign_in_state", user=_id(graph, "sam.ortiz@hartwelllaw.com")))["risk"]["level"] == "none"
    methods = result(call(m365, "list_auth_methods", user=jane))["methods"]
    phone = next(m for m in methods if m["kind"] == "phone")
    assert phone["detail"] == "mobile ••• 0123" and "2065550123" not in str(methods)
    licenses = result(call(m365, "list_licenses", user=jane))
    assert {s["sku"]: s["available"] for s in licenses["tenant_subscriptions"]} == {
        "O365_BUSINESS_PREMIUM": 3,
        "EXCHANGESTANDARD": 3,
    }
    assert licenses["user"]["licenses"][0]["sku"] == "O365_BUSINESS_PREMIUM"
    assert "OFFICE_BUSINESS" in licenses["user"]["licenses"][0]["service_plans"]
    groups = result(call(m365, "list_groups", user=jane))["groups"]
    assert [(g["display_name"], g["kind"]) for g in groups] == [("Litigation", "security group")]
    partners = result(call(m365, "find_group", query="Partn"))["groups"][0]
    assert partners["kind"] == "Microsoft 365 group" and partners["membership_editable"] is True
    # Staff name a shared inbox by its address's first part ("the partners@ mailbox"): the @ reads it so.
    by_inbox = result(call(m365, "find_group", query="partners@"))
    assert [g["display_name"] for g in by_inbox["groups"]] == ["Partners"]
    assert result(call(m365, "find_group", query="partn@"))["count"] == 0  # the whole first part, not a prefix of it
    devices = result(call(m365, "list_devices", user=jane))["devices"]
    assert [(d["device_name"], d["operating_system"]) for d in devices] == [
        ("HL-LT-014", "Windows"),
        ("Jane's iPhone", "iOS"),
    ]
    missing = call(m365, "sign_in_state", user="nobody@hartwelllaw.com")
    assert missing.result_is_error and "No user 'nobody@hartwelllaw.com' in this tenant" in missing.result_text


def test_dry_runs_show_the_exact_graph_request_and_change_nothing(
    in_hartwell: Any, m365: Connector, graph: GraphSandbox
) -> None:
    allow_writes(in_hartwell, m365, scope="dry_run")
    jane = _id(graph, "jane.doe@hartwelllaw.com")
    reset = call(m365, "reset_password", user=jane, dry_run=False)  # the scope forces a dry run
    assert reset.status == ActionStatus.DRY_RUN
    shown = result(reset)
    assert shown["requests"] == [
        {
            "method": "PATCH",
            "url": f"{graph.base_url}/v1.0/users/{jane}",
            "body": {
                "@odata.type": "#microsoft.graph.user",
                "passwordProfile": {"forceChangePasswordNextSignIn": True, "password": "********"},
            },
        }
    ]
    assert shown["risk"]["level"] == "medium" and "temporary_password" not in shown
    wipe = result(call(m365, "wipe_device", device_id=_device(graph, "HL-LT-014")))
    assert wipe["requests"][0]["url"].endswith(f"/deviceManagement/managedDevices/{_device(graph, 'HL-LT-014')}/wipe")
    assert wipe["requests"][0]["body"] == {
        "keepEnrollmentData": False,
        "keepUserData": False,
        "persistEsimDataPlan": False,
    }
    assert wipe["risk"] == {"score": 100, "level": "high", "why": "erases the device; cannot be undone"}
    mfa = result(call(m365, "reset_mfa", user=jane))
    assert [r["method"] for r in mfa["requests"]] == ["DELETE", "DELETE"]
    assert "/authentication/microsoftAuthenticatorMethods/" in mfa["requests"][0]["url"]
    assert "/authentication/phoneMethods/" in mfa["requests"][1]["url"]
    add = result(call(m365, "add_group_member", group_id=_hartwell(graph).group_named("Partners")["id"], user=jane))
    assert add["requests"][0]["body"] == {"@odata.id": f"{graph.base_url}/v1.0/directoryObjects/{jane}"}
    partners = _hartwell(graph).group_named("Partners")["id"]
    assert add["inverse"] == {"tool": "remove_group_member", "arguments": {"group_id": partners, "user": jane}}
    signed_out = result(call(m365, "reset_password", user=jane, revoke_sessions=True))
    assert [(r["method"], r["url"]) for r in signed_out["requests"]] == [
        ("POST", f"{graph.base_url}/v1.0/users/{jane}/revokeSignInSessions"),
        ("PATCH", f"{graph.base_url}/v1.0/users/{jane}"),
    ]
    assert signed_out["sessions_revoked"] is True and signed_out["inverse"] is None  # a password has no undo
    assert signed_out["risk"]["why"] == "replaces the user's password and ends every session"  # what the approver reads
    full = result(call(m365, "assign_license", user=_id(graph, "jamie.fox@hartwelllaw.com"), sku="EXCHANGESTANDARD"))
    assert full["would_change"] is False and full["blocked_by"] == [
        "the user has no usage location, which licences require"
    ]
    staff = _hartwell(graph).group_named("All Staff")["id"]
    dl = result(call(m365, "add_group_member", group_id=staff, user=jane))
    assert dl["would_change"] is False and "managed in Exchange Online" in dl["blocked_by"][0]
    assert graph.actions == [] and _writes(graph) == []


def test_writes_change_the_tenant_and_declare_their_inverses(
    in_hartwell: Any, m365: Connector, graph: GraphSandbox, people: dict[str, Any]
) -> None:
    allow_writes(in_hartwell, m365)
    tenant = _hartwell(graph)
    jane = _id(graph, "jane.doe@hartwelllaw.com")
    reset = call(m365, "reset_password", user=jane)
    assert reset.status == ActionStatus.DONE, reset.result_text
    assert result(reset)["temporary_password"] == SEALED  # stored sealed, for the approver's one look
    sealed = unseal_json(connection.tenant, reset.sealed_secrets, purpose=f"tool-action:{reset.pk}")
    password = sealed["temporary_password"]
    assert len(password) == 16 and all(re.search(p, password) for p in ("[a-z]", "[A-Z]", "[0-9]", "[^A-Za-z0-9]"))
    assert tenant.users[jane]["passwordProfile"]["forceChangePasswordNextSignIn"] is True
    assert graph.actions[-1] == {
        "tenant": HARTWELL,
        "action": "passwordReset",
        "user": jane,
        "forceChange": True,
        "length": 16,
        "sha256": hashlib.sha256(password.encode()).hexdigest(),  # the sealed password is the one Graph received
    }
    before = tenant.users[jane]["signInSessionsValidFromDateTime"]
    assert call(m365, "revoke_sessions", user=jane).status == ActionStatus.DONE
    assert tenant.users[jane]["signInSessionsValidFromDateTime"] != before
    assert result(call(m365, "reset_mfa", user=jane))["done"] is True
    assert [m["type"] for m in tenant.users[jane]["methods"]] == ["password"]

    disable = call(m365, "set_account_enabled", user=jane, enabled=False)
    assert disable.status == ActionStatus.DONE and tenant.users[jane]["accountEnabled"] is False
    assert disable.inverse == {"tool": "set_account_enabled", "arguments": {"user": jane, "enabled": True}}
    assert enforcement.undo(action=disable, actor=people["alice"]).status == ActionStatus.DONE
    assert tenant.users[jane]["accountEnabled"] is True

    exchange = tenant.sku_named("EXCHANGESTANDARD")["skuId"]
    assign = call(m365, "assign_license", user=jane, sku="EXCHANGESTANDARD")
    assert assign.status == ActionStatus.DONE and exchange in {
        a["skuId"] for a in tenant.users[jane]["assignedLicenses"]
    }
    assert assign.inverse == {"tool": "remove_license", "arguments": {"user": jane, "sku": exchange}}
    assert enforcement.undo(action=assign, actor=people["alice"]).status == ActionStatus.DONE
    assert exchange not in {a["skuId"] for a in tenant.users[jane]["assignedLicenses"]}

    partners = tenant.group_named("Partners")
    add = call(m365, "add_group_member", group_id=partners["id"], user=jane)
    assert add.status == ActionStatus.DONE and jane in partners["members"]
    assert add.inverse == {"tool": "remove_group_member", "arguments": {"group_id": partners["id"], "user": jane}}
    again = result(call(m365, "add_group_member", group_id=partners["id"], user=jane))
    assert again["changes"] is False and again["done"] is False and "gaby_inverse" not in again
    assert enforcement.undo(action=add, actor=people["alice"]).status == ActionStatus.DONE
    assert jane not in partners["members"]

    laptop = _device(graph, "HL-LT-014")
    assert call(m365, "sync_device", device_id=laptop).status == ActionStatus.DONE
    assert tenant.devices[laptop]["lastSyncDateTime"] > "2026-11-29T09:12:00Z"
    assert call(m365, "restart_device", device_id=laptop).status == ActionStatus.DONE
    assert [a["action"] for a in graph.actions][-2:] == ["syncDevice", "rebootNow"]


def test_wipe_and_retire_always_wait_for_approval_whatever_the_threshold(
    in_hartwell: Any, m365: Connector, graph: GraphSandbox, people: dict[str, Any]
) -> None:
    allow_writes(in_hartwell, m365)  # act autonomy, threshold 100: any other write runs at once
    assert set(m365.tools.filter(approval_required=True).values_list("name", flat=True)) == {
        "retire_device",
        "wipe_device",
    }
    laptop = _device(graph, "HL-LT-014")
    assert call(m365, "restart_device", device_id=laptop).status == ActionStatus.DONE  # destructive, risk 65 < 100
    wipe = call(m365, "wipe_device", device_id=laptop)
    retire = call(m365, "retire_device", device_id=_device(graph, "HL-LT-002"))
    assert wipe.status == retire.status == ActionStatus.AWAITING_APPROVAL
    assert "always waits for a person" in wipe.reason
    assert [a["action"] for a in graph.actions] == ["rebootNow"]
    enforcement.approve(action=wipe, actor=people["alice"])
    assert enforcement.run_approved(str(wipe.pk))
    wipe.refresh_from_db()
    assert wipe.status == ActionStatus.DONE and _hartwell(graph).devices[laptop]["managementState"] == "wipePending"
    assert graph.actions[-1]["action"] == "wipe"
    type(in_hartwell).objects.filter(pk=in_hartwell.pk).update(approval_threshold=50)  # the default
    in_hartwell.refresh_from_db()
    reset = call(m365, "reset_mfa", user=_id(graph, "jane.doe@hartwelllaw.com"))  # destructive: 65 >= 50
    sync = call(m365, "sync_device", device_id=_device(graph, "HL-LT-002"))  # additive: 40 < 50
    assert reset.status == ActionStatus.AWAITING_APPROVAL and sync.status == ActionStatus.DONE


def test_paging_follows_odata_next_links(in_hartwell: Any, people: dict[str, Any], graph: GraphSandbox) -> None:
    connector = _connect(in_hartwell, people["mona"], graph, page_size=1)
    found = result(call(connector, "find_user", query="J", limit=10))
    assert [u["full_name"] for u in found["users"]] == ["Jamie Fox", "Jane Doe", "Jordan Lee"]
    pages = [c for c in graph.calls("GET", "/v1.0/users") if c.path == "/v1.0/users"]
    assert [("$skiptoken" in c.query, c.query["$top"]) for c in pages] == [(False, ["1"]), (True, ["1"]), (True, ["1"])]


def test_throttling_is_retried_after_retry_after_and_graph_errors_read_clearly(
    in_hartwell: Any, people: dict[str, Any], m365: Connector, graph: GraphSandbox
) -> None:
    graph.fail_next(429, path="/v1.0/users", headers={"Retry-After": "1"})
    assert result(call(m365, "find_user", query="Sam"))["count"] == 1
    assert [c.status for c in graph.calls("GET", "/v1.0/users")][-2:] == [429, 200]
    graph.fail_next(429, path="/v1.0/users", headers={"Retry-After": "1"}, times=4)  # past the SDK's 3 retries
    throttled = call(m365, "find_user", query="Sam")
    assert throttled.result_is_error and "throttling these calls (HTTP 429); try again in 1s" in throttled.result_text
    assert [c.status for c in graph.calls("GET", "/v1.0/users")][-4:] == [429] * 4  # the first try and 3 retries
    graph.fail_next(429, path="/v1.0/users", headers={"Retry-After": "120"})  # longer than a tool call may sleep
    started = time.monotonic()
    slow = call(m365, "find_user", query="Sam")
    assert slow.result_is_error and "try again in 120s" in slow.result_text and time.monotonic() - started < 10
    limited = _connect(in_hartwell, people["mona"], graph, name="M365 read-only", client_id=READ_ONLY_APP)
    refused = call(limited, "list_devices", user="jane.doe@hartwelllaw.com")
    assert refused.result_is_error and "Insufficient privileges" in refused.result_text
    assert "DeviceManagementManagedDevices.Read.All" in refused.result_text
    audit = call(limited, "sign_in_state", user="jane.doe@hartwelllaw.com")  # signInActivity is audit data
    assert audit.result_is_error and "AuditLog.Read.All" in audit.result_text
    assert result(call(limited, "find_user", query="Sam"))["count"] == 1  # what it was granted still works


def test_a_token_is_only_good_for_its_own_tenant(in_hartwell: Any, people: dict[str, Any], graph: GraphSandbox) -> None:
    wrong = _draft(graph, tenant=DEARBORN)  # Hartwell's secret against Dearborn's consent of the same app
    with pytest.raises(ConnectorUnavailable, match="AADSTS7000215: Invalid client secret"):
        services.test_connection(client=in_hartwell, draft=wrong, actor=people["mona"])
    token_url = f"{graph.base_url}/{HARTWELL}/oauth2/v2.0/token"
    form = {
        "grant_type": "client_credentials",
        "client_id": DEMO_CLIENT_ID,
        "client_secret": SECRET,
        "scope": f"{graph.base_url}/.default",
    }
    with httpx.Client(verify=ssl.create_default_context(cafile=graph.ca_file)) as http:
        token = http.post(token_url, data=form).json()["access_token"]
        headers = {"Authorization": f"Bearer {token}"}
        priya = next(u["id"] for u in graph.tenant(DEARBORN).users.values())
        other = http.get(f"{graph.base_url}/v1.0/users/{priya}", headers=headers)
        assert other.status_code == 404 and other.json()["error"]["code"] == "Request_ResourceNotFound"
        listed = http.get(f"{graph.base_url}/v1.0/users", headers=headers, params={"$select": "userPrincipalName"})
        assert all(u["userPrincipalName"].endswith("@hartwelllaw.com") for u in listed.json()["value"])
        scope = http.post(token_url, data={**form, "scope": "User.Read.All"}).json()
        assert scope["error"] == "invalid_scope" and scope["error_codes"] == [1002012]
    assert set(graph.tenant(DEARBORN).apps[DEMO_CLIENT_ID].roles) == set(ALL_ROLES)


def test_settings_are_checked_before_anything_runs(
    in_hartwell: Any, people: dict[str, Any], graph: GraphSandbox
) -> None:
    from django.core.exceptions import ValidationError

    bad_tenant = _draft(graph, tenant="not a tenant")
    with pytest.raises(ValidationError, match="tenant id"):
        services.test_connection(client=in_hartwell, draft=bad_tenant, actor=people["mona"])
    with pytest.raises(ValidationError, match="Only MSP staff may point Gaby at a CA file"):
        services.test_connection(client=in_hartwell, draft=_draft(graph), actor=people["alice"])
    plain = _draft(graph)
    plain.settings["graph_url"] = graph.base_url.replace("https://", "http://")
    with pytest.raises(ValidationError, match="https:// URL"):
        services.test_connection(client=in_hartwell, draft=plain, actor=people["mona"])


def test_cli_connects_a_tenant_with_the_secret_from_the_environment(hartwell: Any, graph: GraphSandbox) -> None:
    out = StringIO()
    args = ["gaby", "connect", "microsoft365", "--client", "hartwell", "--tenant-id", "hartwelllaw.com"]
    args += ["--client-id", DEMO_CLIENT_ID, "--authority", graph.base_url, "--graph-url", graph.base_url]
    args += ["--ca-file", graph.ca_file]
    os.environ["M365_TEST_SECRET"] = SECRET
    try:
        call_command(*args, "--client-secret-env", "M365_TEST_SECRET", stdout=out)
    finally:
        del os.environ["M365_TEST_SECRET"]
    text = out.getvalue()
    assert "Connected Microsoft 365 to Hartwell Law: 21 tools" in text and "write wipe_device" in text
    assert SECRET not in text
    with pytest.raises(CommandError, match="nothing was saved"):
        call_command(*args, "--client-secret", "wrong", "--name", "Other")


def test_health_checks_ask_graph_not_just_the_server(m365: Connector, graph: GraphSandbox) -> None:
    """Also: a token Graph rejects before its expiry is replaced once, and the call goes through."""
    assert services.check_health(connector=m365) == Status.HEALTHY
    issued = graph.tokens_issued
    graph.expire_tokens()
    assert result(call(m365, "find_user", query="Sam"))["count"] == 1
    assert graph.tokens_issued == issued + 1 and [c.status for c in graph.calls("GET", "/v1.0/users")][-2:] == [
        401,
        200,
    ]
    graph.tenant(HARTWELL).apps[DEMO_CLIENT_ID].secret = "rotated-in-entra"
    graph.expire_tokens()
    assert services.check_health(connector=m365) == Status.DEGRADED  # rejected token → a fresh one → refused
    m365.refresh_from_db()
    assert "health_check failed" in m365.last_error and "AADSTS7000215: Invalid client secret" in m365.last_error
    graph.tenant(HARTWELL).apps[DEMO_CLIENT_ID].secret = SECRET
    assert services.check_health(connector=m365) == Status.HEALTHY


def test_msal_reads_the_stand_ins_openid_metadata_then_gets_a_token(graph: GraphSandbox) -> None:
    """The synchronous credential (MSAL inside) takes the discovery path the async one skips."""
    from azure.identity import ClientSecretCredential

    credential = ClientSecretCredential(
        HARTWELL,
        DEMO_CLIENT_ID,
        SECRET,
        authority=graph.base_url,
        connection_verify=graph.ca_file,
        disable_instance_discovery=True,  # Microsoft's instance discovery knows only Microsoft's hosts
    )
    assert credential.get_token(f"{graph.base_url}/.default").token in graph.tokens
    assert [(c.method, c.path, c.status) for c in graph.calls()] == [
        ("GET", f"/{HARTWELL}/v2.0/.well-known/openid-configuration", 200),
        ("POST", f"/{HARTWELL}/oauth2/v2.0/token", 200),
    ]


def test_msp_staff_connect_a_tenant_on_one_screen(as_user: Any, hartwell: Any, graph: GraphSandbox) -> None:
    from django_tenants.utils import tenant_context

    page = as_user("alice", "hartwell").get("/connectors/").content.decode()
    for entry in ("m365", "entra-id", "intune"):
        assert f'href="/connectors/new/microsoft365/" data-testid="catalog-connect-{entry}"' in page
    form = {
        "name": "Hartwell M365",
        "tenant_id": "hartwelllaw.com",
        "client_id": DEMO_CLIENT_ID,
        "client_secret": SECRET,
        "authority": graph.base_url,
        "graph_url": graph.base_url,
        "ca_file": graph.ca_file,
        "autonomy": "investigate",
    }
    alice = as_user("alice", "hartwell")
    assert alice.get("/connectors/new/microsoft365/").status_code == 200
    refused = alice.post("/connectors/new/microsoft365/test/", form, HTTP_HX_REQUEST="true")
    assert refused.status_code == 400 and "Only MSP staff may point Gaby at a CA file" in refused.content.decode()
    mona = as_user("mona", "hartwell")
    probe = mona.post("/connectors/new/microsoft365/test/", form, HTTP_HX_REQUEST="true")
    assert probe.status_code == 200 and 'data-testid="probe-tool-wipe_device"' in probe.content.decode()
    wrong = mona.post("/connectors/new/microsoft365/test/", {**form, "client_secret": "x"}, HTTP_HX_REQUEST="true")
    assert wrong.status_code == 502 and "AADSTS7000215" in wrong.content.decode()
    assert mona.post("/connectors/new/microsoft365/save/", form, HTTP_HX_REQUEST="true").status_code == 204
    with tenant_context(hartwell):
        connector = Connector.objects.get(name="Hartwell M365")
        assert connector.kind == Kind.MICROSOFT365 and connector.tools.filter(present=True).count() == 21
    assert SECRET not in mona.get(f"/connectors/{connector.pk}/").content.decode()


def test_the_stand_in_keeps_its_ca_across_restarts_when_given_a_directory(tmp_path: Any) -> None:
    """A demo's stored connector names the CA file: a restarted stand-in must still be trusted by it."""
    with GraphSandbox(ca_dir=str(tmp_path)) as first:
        ca_file, pem = first.ca_file, (tmp_path / "ca.pem").read_text()
    with GraphSandbox(ca_dir=str(tmp_path)) as second:
        assert second.ca_file == ca_file and (tmp_path / "ca.pem").read_text() == pem
        answer = httpx.get(f"{second.graph_url}/users", verify=ssl.create_default_context(cafile=ca_file))
        assert answer.status_code == 401 and answer.json()["error"]["code"] == "InvalidAuthenticationToken"
    assert (tmp_path / "ca.pem").exists() and (tmp_path / "server.pem").stat().st_mode & 0o077 == 0
