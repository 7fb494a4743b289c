"""The catalog and the Connect pages of the Keycloak and Stripe connectors (CON-2, FND-3)."""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from typing import Any

import pytest
from django_tenants.utils import tenant_context

from apps.connectors import catalog
from apps.connectors.forms import FORMS
from apps.connectors.models import Connector, Kind
from sandbox.keycloak import KeycloakSandbox
from sandbox.stripe import StripeSandbox
from tests.connectors.vendors import close_sessions  # noqa: F401 (autouse: servers end with each test)

CON_2 = [
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
    "Kaseya VSA",
    "Zendesk",
    "HaloPSA",
    "Autotask",
    "ConnectWise PSA",
    "Jira Service Management",
    "Linear",
    "Freshdesk",
    "Intercom",
    "Zoho Desk",
]
KC_SECRET = "kc-page-secret-5150"
STRIPE_KEY = "rk_test_page_key_8675309"


@pytest.fixture
def kc() -> Iterator[KeycloakSandbox]:
    with KeycloakSandbox({"realm": "acme", "clients": {"gaby-support": KC_SECRET}}) as sandbox:
        sandbox.users.clear()
        yield sandbox


@pytest.fixture
def stripe() -> Iterator[StripeSandbox]:
    with StripeSandbox({"api_keys": [STRIPE_KEY]}) as sandbox:
        yield sandbox


def test_the_catalog_connects_keycloak_and_stripe_first_party(as_user: Any) -> None:
    first = {entry.id: entry for entry in catalog.entries() if entry.first_party}
    for slug in ("keycloak", "stripe"):
        assert first[slug].connect_kind in FORMS and first[slug].server in catalog.server_packages()
        assert hasattr(importlib.import_module(f"apps.connectors.servers.{slug}.server"), "build_server")
    page = as_user("alice", "hartwell").get("/connectors/").content.decode()
    assert 'href="/connectors/new/keycloak/" data-testid="catalog-connect-keycloak"' in page
    assert 'href="/connectors/new/stripe/" data-testid="catalog-connect-stripe"' in page
    agent = as_user("bob", "hartwell").get("/connectors/").content.decode()
    assert 'data-testid="catalog-keycloak"' in agent and "catalog-connect-keycloak" not in agent


def test_admin_connects_keycloak_on_one_screen(as_user: Any, hartwell: Any, kc: KeycloakSandbox) -> None:
    alice = as_user("alice", "hartwell")
    assert alice.get("/connectors/new/keycloak/").status_code == 200
    form = {
        "name": "SSO",
        "url": kc.base_url,
        "realm": "acme",
        "client_id": "gaby-support",
        "client_secret": KC_SECRET,
        "autonomy": "investigate",
    }
    probe = alice.post("/connectors/new/keycloak/test/", form, HTTP_HX_REQUEST="true")
    body = probe.content.decode()
    assert probe.status_code == 200 and 'data-testid="probe-tool-set_user_enabled"' in body
    assert "9 tools found" in body
    missing = alice.post("/connectors/new/keycloak/test/", {**form, "client_secret": ""}, HTTP_HX_REQUEST="true")
    assert missing.status_code == 400 and "client id and secret" in missing.content.decode()
    saved = alice.post("/connectors/new/keycloak/save/", form, HTTP_HX_REQUEST="true")
    assert saved.status_code == 204
    with tenant_context(hartwell):
        connector = Connector.objects.get(name="SSO")
        assert connector.kind == Kind.KEYCLOAK and KC_SECRET not in connector.sealed_config
    for url in ("/connectors/", f"/connectors/{connector.pk}/"):
        assert KC_SECRET not in alice.get(url).content.decode()


def test_admin_connects_stripe_and_a_bad_key_says_so(as_user: Any, hartwell: Any, stripe: StripeSandbox) -> None:
    alice = as_user("alice", "hartwell")
    form = {"name": "Billing", "api_key": STRIPE_KEY, "api_base": stripe.base_url, "autonomy": "investigate"}
    wrong = alice.post("/connectors/new/stripe/test/", {**form, "api_key": "sk_test_wrong"}, HTTP_HX_REQUEST="true")
    assert wrong.status_code == 502 and "Stripe rejected the API key" in wrong.content.decode()
    publishable = alice.post("/connectors/new/stripe/test/", {**form, "api_key": "pk_test_x"}, HTTP_HX_REQUEST="true")
    assert publishable.status_code == 400 and "restricted key" in publishable.content.decode()
    assert alice.post("/connectors/new/stripe/save/", form, HTTP_HX_REQUEST="true").status_code == 204
    with tenant_context(hartwell):
        connector = Connector.objects.get(name="Billing")
        assert connector.tools.filter(present=True).count() == 10
    assert STRIPE_KEY not in alice.get(f"/connectors/{connector.pk}/").content.decode()


def test_only_admins_of_the_client_reach_the_connect_pages(as_user: Any) -> None:
    for kind in ("keycloak", "stripe"):
        assert as_user("bob", "hartwell").get(f"/connectors/new/{kind}/").status_code == 403
        assert as_user("bob", "hartwell").post(f"/connectors/new/{kind}/test/", {}).status_code == 403
        assert as_user("carol", "hartwell").get(f"/connectors/new/{kind}/").status_code == 403
        assert as_user("carol", "hartwell").post(f"/connectors/new/{kind}/save/", {}).status_code == 403
