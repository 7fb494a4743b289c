"""The first-party Keycloak connector through the real MCP host and run_tool, against the Keycloak stand-in."""

from __future__ import annotations

import os
from collections.abc import Iterator
from io import StringIO
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from apps.connectors import services
from apps.connectors.calls import ConnectorUnavailable
from apps.connectors.models import Access, Connector, Kind, Status
from apps.connectors.specs import keycloak_draft
from apps.safety import enforcement
from apps.safety.models import ActionStatus
from sandbox.keycloak import DEMO_SEED, KeycloakSandbox
from tests.connectors.vendors import (
    allow_writes,
    call,
    close_sessions,  # noqa: F401 (autouse: servers end with each test)
    result,
)

SECRET = "kc-secret-never-stored-in-clear-31337"
SEED: dict[str, Any] = {**DEMO_SEED, "clients": {"gaby-support": SECRET}}


@pytest.fixture
def kc() -> Iterator[KeycloakSandbox]:
    with KeycloakSandbox(SEED) as sandbox:
        yield sandbox


def _connect(client: Any, actor: Any, kc: KeycloakSandbox, name: str = "SSO", **settings: Any) -> Connector:
    draft = keycloak_draft(name=name, url=kc.base_url, realm="acme", client_id="gaby-support", client_secret=SECRET)
    draft.settings.update(settings)
    return services.connect(client=client, draft=draft, actor=actor)


@pytest.fixture
def sso(in_hartwell: Any, people: dict[str, Any], kc: KeycloakSandbox) -> Connector:
    return _connect(in_hartwell, people["alice"], kc)


def _jane(kc: KeycloakSandbox) -> str:
    return str(kc.user("jane.doe")["id"])


def test_it_lists_its_tools_as_reads_and_writes_and_seals_the_secret(sso: Connector) -> None:
    access = dict(sso.tools.values_list("name", "access"))
    assert access == {
        "health_check": Access.READ,
        "find_user": Access.READ,
        "get_user": Access.READ,
        "list_sessions": Access.READ,
        "credential_status": Access.READ,
        "send_password_reset": Access.WRITE,
        "logout_sessions": Access.WRITE,
        "set_user_enabled": Access.WRITE,
        "unlock_user": Access.WRITE,
    }
    assert sso.kind == Kind.KEYCLOAK and "setting:client_secret" in sso.secret_keys
    with connection.cursor() as cursor:
        cursor.execute("SELECT sealed_config FROM connectors_connector WHERE id = %s", [sso.pk])
        assert SECRET not in cursor.fetchone()[0]
    writes = sso.tools.filter(access=Access.WRITE)
    assert all(tool.input_schema["properties"]["dry_run"]["type"] == "boolean" for tool in writes)


def test_reads_explain_why_a_user_cannot_sign_in(sso: Connector, kc: KeycloakSandbox) -> None:
    found = result(call(sso, "find_user", query="jane.doe@acme.test"))
    assert found["matched_by"] == "exact email" and found["users"][0]["username"] == "jane.doe"
    user_id = found["users"][0]["id"]
    status = result(call(sso, "credential_status", user_id=user_id))
    assert status["brute_force"]["locked"] is True and status["brute_force"]["failures"] == 8
    assert status["brute_force"]["last_failure_ip"] == "198.51.100.7" and status["has_password"] is True
    assert "secretData" not in str(status)
    sessions = result(call(sso, "list_sessions", user_id=user_id))["sessions"]
    assert [s["ip_address"] for s in sessions] == ["203.0.113.9"] and sessions[0]["clients"] == ["account-console"]
    raj = result(call(sso, "find_user", query="Patel"))
    assert raj["matched_by"] == "search" and raj["users"][0]["requiredActions"] == ["UPDATE_PASSWORD"]
    missing = call(sso, "get_user", user_id="nope")
    assert missing.result_is_error and "No user with id 'nope'" in missing.result_text
    assert result(call(sso, "health_check"))["ok"] is True


def test_dry_runs_change_nothing(in_hartwell: Any, sso: Connector, kc: KeycloakSandbox) -> None:
    allow_writes(in_hartwell, sso, scope="dry_run")
    jane = _jane(kc)
    reset = call(sso, "send_password_reset", user_id=jane, dry_run=False)  # the scope forces a dry run
    assert reset.status == ActionStatus.DRY_RUN and result(reset)["would_send"] is True
    assert result(call(sso, "logout_sessions", user_id=jane))["would_end"] == 1
    assert result(call(sso, "set_user_enabled", user_id=jane, enabled=False))["changes"] is True
    assert result(call(sso, "unlock_user", user_id=jane))["would_unlock"] is True
    blocked = result(call(sso, "send_password_reset", user_id=str(kc.user("service-bot")["id"])))
    assert blocked["would_send"] is False and blocked["blocked_by"] == ["the user has no email address"]
    assert kc.emails_sent == [] and kc.logouts == [] and kc.unlocks == [] and kc.updates == []
    assert kc.user("jane.doe")["enabled"] is True and kc.calls("PUT") == [] and kc.calls("DELETE") == []


def test_writes_act_once_and_disable_can_be_undone(
    in_hartwell: Any, sso: Connector, kc: KeycloakSandbox, people: dict[str, Any]
) -> None:
    allow_writes(in_hartwell, sso)
    jane = _jane(kc)
    reset = call(sso, "send_password_reset", key="step-1", user_id=jane, lifespan_seconds=3600)
    assert reset.status == ActionStatus.DONE, reset.result_text
    assert kc.emails_sent == [
        {
            "user_id": jane,
            "email": "jane.doe@acme.test",
            "actions": ["UPDATE_PASSWORD"],
            "lifespan": 3600,
            "client_id": None,
        }
    ]
    call(sso, "send_password_reset", key="step-1", user_id=jane)  # a retried step: recorded action, no 2nd email
    assert len(kc.emails_sent) == 1
    assert call(sso, "unlock_user", user_id=jane).status == ActionStatus.DONE
    assert kc.unlocks == [jane] and kc.user("jane.doe")["bruteForce"]["disabled"] is False
    assert result(call(sso, "logout_sessions", user_id=jane))["ended"] == 1 and kc.user("jane.doe")["sessions"] == []
    disable = call(sso, "set_user_enabled", user_id=jane, enabled=False)
    assert disable.status == ActionStatus.DONE and kc.user("jane.doe")["enabled"] is False
    assert disable.inverse == {"tool": "set_user_enabled", "arguments": {"user_id": jane, "enabled": True}}
    undone = enforcement.undo(action=disable, actor=people["alice"])
    assert undone.status == ActionStatus.DONE and kc.user("jane.doe")["enabled"] is True
    refused = call(sso, "send_password_reset", user_id=str(kc.user("former@acme.test")["id"]))
    assert refused.status == ActionStatus.FAILED and "the user is disabled" in refused.result_text


def test_an_expired_token_is_replaced_and_the_call_goes_through(sso: Connector, kc: KeycloakSandbox) -> None:
    assert result(call(sso, "get_user", user_id=_jane(kc)))["username"] == "jane.doe"
    issued = kc.tokens_issued
    kc.expire_tokens()  # revoked or expired early: the next admin call answers 401
    assert result(call(sso, "get_user", user_id=_jane(kc)))["username"] == "jane.doe"
    assert kc.tokens_issued == issued + 1
    assert [c.status for c in kc.calls("GET", "/admin/realms/acme/users/")][-2:] == [401, 200]


def test_a_password_grant_refreshes_its_token_before_expiry(in_hartwell: Any, people: dict[str, Any]) -> None:
    seed = {**SEED, "admins": {"support-admin": "pw-4321"}, "token_lifespan": 30}  # inside the renewal margin
    with KeycloakSandbox(seed) as kc:
        draft = keycloak_draft(
            name="SSO admin",
            url=kc.base_url,
            realm="acme",
            username="support-admin",
            password="pw-4321",
            auth_realm="master",
        )
        connector = services.connect(client=in_hartwell, draft=draft, actor=people["alice"])
        assert result(call(connector, "health_check"))["ok"] is True
        grants = [dict(c.body and [p.split("=", 1) for p in c.body.decode().split("&")]) for c in kc.calls("POST")]
        assert [g["grant_type"] for g in grants][:1] == ["password"] and "refresh_token" in [
            g["grant_type"] for g in grants
        ]
        assert all(c.path == "/realms/master/protocol/openid-connect/token" for c in kc.calls("POST"))


def test_user_lists_follow_first_and_max_paging(in_hartwell: Any, people: dict[str, Any]) -> None:
    seed = {**SEED, "users": [{"username": f"bulk{n:02d}", "email": f"bulk{n:02d}@bulk.test"} for n in range(25)]}
    with KeycloakSandbox(seed) as kc:
        connector = _connect(in_hartwell, people["alice"], kc, name="Bulk", page_size=10)
        found = result(call(connector, "find_user", query="bulk.test", limit=25))
        assert found["count"] == 25 and found["users"][-1]["username"] == "bulk24"
        firsts = [c.query.get("first") for c in kc.calls("GET", "/admin/realms/acme/users") if "search" in c.query]
        assert firsts == [["0"], ["10"], ["20"]]


def test_rate_limits_and_server_errors_are_retried_malformed_bodies_reported(
    sso: Connector, kc: KeycloakSandbox
) -> None:
    jane = _jane(kc)
    user_path = f"/admin/realms/acme/users/{jane}"
    kc.fail_next(429, path=user_path, headers={"Retry-After": "1"})
    kc.fail_next(503, path=user_path)
    assert result(call(sso, "get_user", user_id=jane))["username"] == "jane.doe"
    assert [c.status for c in kc.calls("GET", f"/admin/realms/acme/users/{jane}")][-3:] == [429, 503, 200]
    kc.fail_next(200, path=user_path, body=b"<html>proxy login page</html>")
    broken = call(sso, "get_user", user_id=jane)
    assert broken.result_is_error and "body that is not JSON" in broken.result_text
    kc.fail_next(429, path=user_path, headers={"Retry-After": "120"})
    slow = call(sso, "get_user", user_id=jane)
    assert slow.result_is_error and "try again in 120s" in slow.result_text


def test_a_send_that_fails_with_a_5xx_is_not_sent_again(in_hartwell: Any, sso: Connector, kc: KeycloakSandbox) -> None:
    allow_writes(in_hartwell, sso)
    kc.fail_next(502, path=f"/admin/realms/acme/users/{_jane(kc)}/execute-actions-email")
    action = call(sso, "send_password_reset", user_id=_jane(kc))
    assert action.status == ActionStatus.FAILED and "HTTP 502" in action.result_text
    assert len(kc.calls("PUT", "/admin/realms/acme/users/")) == 1 and kc.emails_sent == []


def test_wrong_credentials_fail_the_connection_test_with_the_reason(
    in_hartwell: Any, people: dict[str, Any], kc: KeycloakSandbox
) -> None:
    draft = keycloak_draft(name="SSO", url=kc.base_url, realm="acme", client_id="gaby-support", client_secret="bad")
    with pytest.raises(ConnectorUnavailable, match="refused the connector's credentials"):
        services.test_connection(client=in_hartwell, draft=draft, actor=people["alice"])
    assert not Connector.objects.filter(name="SSO").exists()


def test_cli_connects_keycloak_with_the_secret_from_the_environment(hartwell: Any, kc: KeycloakSandbox) -> None:
    out = StringIO()
    os.environ["KC_TEST_SECRET"] = SECRET
    try:
        call_command(
            "gaby",
            "connect",
            "keycloak",
            "--client",
            "hartwell",
            "--url",
            kc.base_url,
            "--realm",
            "acme",
            "--client-id",
            "gaby-support",
            "--client-secret-env",
            "KC_TEST_SECRET",
            stdout=out,
        )
    finally:
        del os.environ["KC_TEST_SECRET"]
    text = out.getvalue()
    assert "Connected Keycloak to Hartwell Law: 9 tools" in text and "write set_user_enabled" in text
    assert SECRET not in text
    with pytest.raises(CommandError, match="nothing was saved"):
        call_command(
            "gaby",
            "connect",
            "keycloak",
            "--client",
            "hartwell",
            "--url",
            kc.base_url,
            "--realm",
            "acme",
            "--client-id",
            "gaby-support",
            "--client-secret",
            "wrong",
            "--name",
            "Other",
        )


def test_health_checks_ask_keycloak_not_just_the_server(sso: Connector, kc: KeycloakSandbox) -> None:
    assert services.check_health(connector=sso) == Status.HEALTHY
    kc.clients["gaby-support"] = "rotated-by-someone"  # the secret was rotated in Keycloak
    kc.expire_tokens()
    assert services.check_health(connector=sso) == Status.DEGRADED
    sso.refresh_from_db()
    assert "health_check failed" in sso.last_error and "refused the connector's credentials" in sso.last_error
    kc.clients["gaby-support"] = SECRET
    assert services.check_health(connector=sso) == Status.HEALTHY
