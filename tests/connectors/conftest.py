"""Real MCP servers for the connector tests: PyPI ones from the venv, npm ones from var/npm (./gaby test)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
import pytest
from django.conf import settings
from django.db import connection

from apps.connectors.calls import ServerSpec
from apps.connectors.models import Kind
from apps.connectors.specs import Draft, code_draft, openapi_draft, spec_for

VENV_BIN = Path(sys.executable).parent
NPM_BIN = Path(os.environ.get("GABY_DATA_DIR", settings.BASE_DIR / "var")) / "npm" / "node_modules" / ".bin"


def npm_server(name: str) -> str:
    path = NPM_BIN / name
    if not path.exists():
        if os.environ.get("CI"):  # in CI a missing server is a broken install step, not a reason to skip
            pytest.fail(f"{name} is not installed: ./gaby test installs it with npm ci (tests/npm).")
        pytest.skip(f"{name} is not installed (./gaby test installs it with npm ci)")
    return str(path)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="session")
def everything_url() -> Iterator[str]:
    """@modelcontextprotocol/server-everything over streamable HTTP on a free local port."""
    command = npm_server("mcp-server-everything")
    port = free_port()
    proc = subprocess.Popen(
        [command, "streamableHttp"],
        env={**os.environ, "PORT": str(port)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            time.sleep(0.1)
    yield f"http://127.0.0.1:{port}/mcp"
    proc.terminate()
    proc.wait(timeout=10)


@pytest.fixture
def git_repo(tmp_path: Path) -> Path:
    repo = tmp_path / "billing"
    repo.mkdir()
    run = lambda *args: subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True)  # noqa: E731
    run("init", "-q", "-b", "main")
    run("config", "user.email", "dev@example.com")
    run("config", "user.name", "Dev")
    (repo / "webhook.py").write_text("def handle(event):\n    return event['type']\n")
    run("add", ".")
    run("commit", "-q", "-m", "Handle Stripe webhooks")
    return repo


def _sample_db() -> str:
    """Named after the test database, so test runs of other checkouts on the same server keep their own."""
    return f"{connection.settings_dict['NAME']}_connector_sample"


def _url(database: str) -> str:
    params = connection.settings_dict
    return psycopg.conninfo.make_conninfo(
        dbname=database,
        user=params["USER"],
        password=params["PASSWORD"] or None,
        host=params["HOST"],
        port=params["PORT"] or None,
    )


@pytest.fixture(scope="module")
def sample_url(django_db_setup: None, django_db_blocker: Any) -> Iterator[str]:
    sample_db = _sample_db()
    with django_db_blocker.unblock(), psycopg.connect(_url("postgres"), autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{sample_db}"')
        admin.execute(f'CREATE DATABASE "{sample_db}"')
    with psycopg.connect(_url(sample_db), autocommit=True) as db:
        db.execute("CREATE TABLE customers (id int PRIMARY KEY, email text NOT NULL, plan text NOT NULL)")
        db.execute(
            "INSERT INTO customers SELECT n, 'user' || n || '@example.com', "
            "CASE WHEN n % 2 = 0 THEN 'pro' ELSE 'free' END FROM generate_series(1, 500) AS n"
        )
    yield (
        "postgresql://"
        + "/"
        + sample_db
        + "?"
        + "&".join(
            f"{key}={value}"
            for key, value in psycopg.conninfo.conninfo_to_dict(_url(sample_db)).items()
            if key != "dbname" and value
        )
    )
    with django_db_blocker.unblock(), psycopg.connect(_url("postgres"), autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{sample_db}" WITH (FORCE)')


@pytest.fixture(scope="module")
def api() -> Iterator[Any]:
    """A real local REST API with its OpenAPI document (tests/connectors/api_server.py)."""
    from tests.connectors.api_server import serve_api

    with serve_api() as served:
        yield served


@dataclass(frozen=True)
class ContractTarget:
    """A server for the contract suite: how to start it, and sample arguments for each write's dry run."""

    spec: ServerSpec
    samples: dict[str, dict[str, Any]] = field(default_factory=dict)


def first_party_target(draft: Draft, samples: dict[str, dict[str, Any]] | None = None) -> ContractTarget:
    return ContractTarget(spec_for(draft, label=f"contract/{draft.kind}"), samples or {})


# One fixture per first-party server, named contract_<package>: test_contract.py finds them by name. A server
# package without one is still checked (started with no settings), but its dry runs are not exercised.
@pytest.fixture
def contract_postgres(sample_url: str) -> ContractTarget:
    draft = Draft(kind=Kind.POSTGRES, name="Contract PG", settings={"url": sample_url, "allow_writes": True})
    return first_party_target(draft, {"execute_write": {"sql": "UPDATE customers SET plan = 'pro' WHERE id = 1"}})


@pytest.fixture
def contract_code(git_repo: Path) -> ContractTarget:
    return first_party_target(code_draft(name="Contract code", repo=str(git_repo)))


@pytest.fixture
def contract_openapi(api: Any) -> ContractTarget:
    from tests.connectors.api_server import TOKEN

    draft = openapi_draft(name="Contract API", spec=api.url, auth="bearer", secret=TOKEN)
    samples = {
        "createRefund": {"customerId": "cus_1", "body": {"amount": 5}},
        "logoutSessions": {"customerId": "cus_1"},
        "searchInvoices": {"body": {"q": "x"}},
    }
    return first_party_target(draft, samples)


# Keycloak and Stripe arrive with feature/connectors-fp (their servers, drafts and stand-ins in sandbox/). These
# fixtures are only requested once those server packages exist, so the imports stay inside them.
@pytest.fixture
def contract_keycloak() -> Iterator[ContractTarget]:
    from apps.connectors.specs import keycloak_draft
    from sandbox.keycloak import DEMO_SEED, KeycloakSandbox

    secret = "kc-contract-secret"
    with KeycloakSandbox({**DEMO_SEED, "clients": {"gaby-support": secret}}) as kc:
        user = str(kc.user("jane.doe")["id"])
        draft = keycloak_draft(
            name="Contract SSO", url=kc.base_url, realm="acme", client_id="gaby-support", client_secret=secret
        )
        writes = {
            "send_password_reset": {},
            "logout_sessions": {},
            "unlock_user": {},
            "set_user_enabled": {"enabled": False},
        }
        yield first_party_target(draft, {tool: {"user_id": user, **extra} for tool, extra in writes.items()})


@pytest.fixture
def contract_stripe() -> Iterator[ContractTarget]:
    from apps.connectors.specs import stripe_draft
    from sandbox.stripe import DEMO_SEED, StripeSandbox

    key = "rk_test_contract_4242"
    with StripeSandbox({**DEMO_SEED, "api_keys": [key]}) as stripe:
        draft = stripe_draft(name="Contract Stripe", api_key=key, api_base=stripe.base_url)
        invoices = DEMO_SEED["invoices"]
        invoice = next((i["id"] for i in invoices if i.get("status") == "open"), invoices[0]["id"])
        samples = {
            "refund": {"charge_id": DEMO_SEED["charges"][0]["id"]},
            "resend_invoice": {"invoice_id": invoice},
            "retry_invoice_payment": {"invoice_id": invoice},
        }
        yield first_party_target(draft, samples)


@pytest.fixture
def contract_ninjaone() -> Iterator[ContractTarget]:
    from apps.connectors.specs import ninjaone_draft
    from sandbox.ninjaone import DEMO_SEED, NinjaOneSandbox

    secret = "ninja-contract-secret"
    with NinjaOneSandbox({**DEMO_SEED, "clients": {"gaby-rmm": secret}}) as ninja:
        draft = ninjaone_draft(
            name="Contract RMM",
            url=ninja.base_url,
            client_id="gaby-rmm",
            client_secret=secret,
            organizations=[1],
            allowed_scripts=["Disk Cleanup"],
        )
        alert = next(uid for uid, alert in ninja.alerts.items() if alert["deviceId"] == 101)
        samples: dict[str, dict[str, Any]] = {
            "restart_service": {"device_id": 101, "service": "Spooler"},
            "start_service": {"device_id": 101, "service": "Spooler"},
            "stop_service": {"device_id": 101, "service": "Spooler"},
            "reset_alert": {"alert_uid": alert},
            "run_script": {"device_id": 102, "script": "Clear Print Queue"},
            "run_allowed_script": {"device_id": 102, "script": "Disk Cleanup"},
        }
        yield first_party_target(draft, samples)


@pytest.fixture
def contract_microsoft365() -> Iterator[ContractTarget]:
    from apps.connectors.specs import microsoft365_draft
    from sandbox.msgraph import GraphSandbox
    from sandbox.msgraph_data import DEMO_CLIENT_ID, DEMO_SEED, HARTWELL

    with GraphSandbox(DEMO_SEED) as graph:
        tenant = graph.tenant(HARTWELL)
        draft = microsoft365_draft(
            name="Contract M365",
            tenant_id=HARTWELL,
            client_id=DEMO_CLIENT_ID,
            client_secret=tenant.apps[DEMO_CLIENT_ID].secret,
            authority=graph.base_url,
            graph_url=graph.base_url,
            ca_file=graph.ca_file,
        )
        jane = str(tenant.user("jane.doe@hartwelllaw.com")["id"])  # type: ignore[index]
        laptop = next(d["id"] for d in tenant.devices.values() if d["deviceName"] == "HL-LT-014")
        partners = tenant.group_named("Partners")["id"]
        device_tools = ("sync_device", "restart_device", "retire_device", "wipe_device")
        samples: dict[str, dict[str, Any]] = {
            tool: {"user": jane} for tool in ("reset_password", "revoke_sessions", "reset_mfa")
        }
        samples |= {tool: {"device_id": laptop} for tool in device_tools}
        samples |= {
            "set_account_enabled": {"user": jane, "enabled": False},
            "assign_license": {"user": jane, "sku": "EXCHANGESTANDARD"},
            "remove_license": {"user": jane, "sku": "O365_BUSINESS_PREMIUM"},
            "add_group_member": {"user": jane, "group_id": partners},
            "remove_group_member": {"user": jane, "group_id": partners},
        }
        yield first_party_target(draft, samples)
        assert graph.actions == []  # the contract's dry runs changed nothing
