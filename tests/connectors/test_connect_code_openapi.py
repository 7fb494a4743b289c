"""The Connect page, the catalog and `manage.py gaby connect code|openapi` for the new first-party connectors."""

from __future__ import annotations

from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django_tenants.utils import tenant_context

from apps.connectors import catalog
from apps.connectors.forms import FORMS
from apps.connectors.models import Connector, Kind
from tests.connectors.api_server import TOKEN


def test_catalog_covers_every_con2_system_and_marks_first_party() -> None:
    names = {entry.name for entry in catalog.entries()}
    con2 = [
        "PostgreSQL",
        "MySQL",
        "MongoDB",
        "Redis",
        "Kubernetes",
        "AWS",
        "Google Cloud",
        "Azure",
        "Microsoft 365",
        "Entra ID",
        "Intune",
        "Active Directory",
        "Keycloak",
        "Auth0",
        "Okta",
        "Slack",
        "Microsoft Teams",
        "Stripe",
        "GitHub",
        "GitLab",
        "Datadog",
        "Grafana",
        "PagerDuty",
        "Sentry",
        "SharePoint",
        "FortiGate",
        "NinjaOne",
        "Kaseya",
        "Zendesk",
        "HaloPSA",
        "Autotask",
        "ConnectWise",
        "Jira Service Management",
        "Linear",
        "Freshdesk",
        "Intercom",
        "Zoho Desk",
    ]
    assert set(con2) <= names
    first = {entry.id for entry in catalog.entries() if entry.first_party}
    assert {"postgres", "code", "openapi", "github", "gitlab"} <= first
    for entry in catalog.entries():
        assert entry.docs.startswith("https://")
        assert entry.connect_kind in FORMS  # every entry opens a Connect form that exists


def test_the_connectors_page_shows_the_catalog(as_user: Any) -> None:
    alice = as_user("alice", "hartwell").get("/connectors/").content.decode()
    assert 'data-testid="catalog-stripe"' in alice and 'data-testid="catalog-connect-github"' in alice
    assert 'href="/connectors/new/code/" data-testid="catalog-connect-gitlab"' in alice
    assert 'data-testid="add-openapi"' in alice
    bob = as_user("bob", "hartwell").get("/connectors/").content.decode()
    assert 'data-testid="catalog-stripe"' in bob and 'data-testid="catalog-connect-github"' not in bob


def test_connect_a_rest_api_in_the_ui(as_user: Any, hartwell: Any, api: Any) -> None:
    alice = as_user("alice", "hartwell")
    page = alice.get("/connectors/new/openapi/").content.decode()
    assert "Connect a REST API" in page and 'name="secret"' in page and 'type="password"' in page
    form = {"name": "Billing API", "spec": api.url, "auth": "bearer", "secret": TOKEN, "autonomy": "investigate"}
    probe = alice.post("/connectors/new/openapi/test/", form, HTTP_HX_REQUEST="true")
    assert probe.status_code == 200, probe.content.decode()
    assert 'data-testid="probe-tool-createRefund"' in probe.content.decode()
    missing = alice.post("/connectors/new/openapi/test/", {**form, "secret": ""}, HTTP_HX_REQUEST="true")
    assert missing.status_code == 400 and "Enter the token, key or password" in missing.content.decode()
    saved = alice.post("/connectors/new/openapi/save/", form, HTTP_HX_REQUEST="true")
    assert saved.status_code == 204
    with tenant_context(hartwell):
        connector = Connector.objects.get(name="Billing API")
        assert connector.kind == Kind.OPENAPI and "setting:secret" in connector.secret_keys
        assert TOKEN not in connector.sealed_config
    detail = alice.get(f"/connectors/{connector.pk}/").content.decode()
    assert TOKEN not in detail and "createRefund" in detail


def test_connect_source_code_in_the_ui_needs_a_clone_url(as_user: Any, git_repo: Path) -> None:
    alice = as_user("alice", "hartwell")
    assert "Connect source code" in alice.get("/connectors/new/code/").content.decode()
    form = {"name": "Repo", "repo": str(git_repo), "autonomy": "investigate"}
    refused = alice.post("/connectors/new/code/test/", form, HTTP_HX_REQUEST="true")
    assert refused.status_code == 400 and "only MSP staff may point Gaby at a path" in refused.content.decode()
    mona = as_user("mona", "hartwell")
    probe = mona.post("/connectors/new/code/test/", form, HTTP_HX_REQUEST="true")
    assert probe.status_code == 200 and 'data-testid="probe-tool-find_symbol"' in probe.content.decode()


def test_only_admins_of_the_client_reach_the_new_connect_pages(as_user: Any) -> None:
    for persona, where, status in (("carol", "hartwell", 403), ("bob", "hartwell", 403)):
        browser = as_user(persona, where)
        for kind in ("code", "openapi"):
            assert browser.get(f"/connectors/new/{kind}/").status_code == status
            assert browser.post(f"/connectors/new/{kind}/test/", {"name": "x"}).status_code == status
            assert browser.post(f"/connectors/new/{kind}/save/", {"name": "x"}).status_code == status


def test_cli_connects_code_and_openapi(
    hartwell: Any, git_repo: Path, api: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = StringIO()
    call_command("gaby", "connect", "code", "--client", "hartwell", "--repo", str(git_repo), stdout=out)
    assert "Connected Source code to Hartwell Law: 5 tools" in out.getvalue() and "read  search" in out.getvalue()

    monkeypatch.setenv("ACME_TOKEN", TOKEN)
    out = StringIO()
    call_command(
        "gaby",
        "connect",
        "openapi",
        "--client",
        "hartwell",
        "--name",
        "Acme",
        "--spec",
        api.yaml_url,
        "--auth",
        "bearer",
        "--secret-env",
        "ACME_TOKEN",
        "--read-op",
        "searchInvoices",
        stdout=out,
    )
    text = out.getvalue()
    assert "Connected Acme to Hartwell Law: 7 tools" in text and "write createRefund" in text
    assert "read  searchInvoices" in text and TOKEN not in text
    with pytest.raises(CommandError, match="NOPE_TOKEN is empty or not set"):
        call_command(
            "gaby",
            "connect",
            "openapi",
            "--client",
            "hartwell",
            "--name",
            "B",
            "--spec",
            api.url,
            "--auth",
            "bearer",
            "--secret-env",
            "NOPE_TOKEN",
        )
