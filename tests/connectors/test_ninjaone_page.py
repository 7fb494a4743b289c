"""The portal page /partners/ninjaone/: MSP staff only, CSRF-protected, lists NinjaOne's organizations with the
suggested clients, connects the chosen ones through the real stand-in, and shows each client's PSA company
mapping read-only (the whole flow in Chromium is tests/browser/test_ninjaone_mapping.py)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.test import Client as HttpClient
from django_tenants.utils import tenant_context

from apps.connectors.drafts import draft_of
from apps.connectors.models import Connector, Kind
from apps.tickets import services as tickets
from sandbox.ninjaone import NinjaOneSandbox
from sandbox.ninjaone_data import DEMO_SEED
from tests.connectors.vendors import close_sessions  # noqa: F401 (autouse: servers end with each test)

pytestmark = pytest.mark.django_db
PAGE = "/partners/ninjaone/"
HTMX = {"HTTP_HX_REQUEST": "true"}
SECRET = "ninja-page-secret-never-rendered-5151"


@pytest.fixture
def ninja() -> Iterator[NinjaOneSandbox]:
    with NinjaOneSandbox({**DEMO_SEED, "clients": {"gaby-rmm": SECRET}}) as sandbox:
        yield sandbox


def _form(ninja: NinjaOneSandbox, **changes: str) -> dict[str, str]:
    return {"url": ninja.base_url, "client_id": "gaby-rmm", "client_secret": SECRET, "allowed_scripts": ""} | changes


def test_only_msp_staff_reach_it(as_user: Any) -> None:
    page = as_user("mona", "public").get(PAGE)
    assert page.status_code == 200 and b'data-testid="ninjaone-form"' in page.content
    assert 'data-testid="portal-ninjaone-link"' in as_user("mona", "public").get("/").content.decode()
    assert as_user("alice", "public").get(PAGE).status_code == 403  # a client's Admin, not MSP staff
    assert as_user("alice", "public").post(PAGE + "organizations/", {}).status_code == 403
    assert as_user("mona", "hartwell").get(PAGE).status_code == 404  # the portal's page, not a client's


def test_a_post_without_the_csrf_token_is_refused(world: Any, ninja: NinjaOneSandbox) -> None:
    browser = HttpClient(HTTP_HOST="localhost", enforce_csrf_checks=True)
    browser.force_login(world.people["mona"], backend="django.contrib.auth.backends.ModelBackend")
    assert browser.post(PAGE + "organizations/", _form(ninja)).status_code == 403


def test_it_lists_then_connects_the_chosen_clients(
    as_user: Any, ninja: NinjaOneSandbox, hartwell: Any, dearborn: Any
) -> None:
    mona = as_user("mona", "public")
    listed = mona.post(PAGE + "organizations/", _form(ninja), **HTMX)
    assert listed.status_code == 200
    text = listed.content.decode()
    assert '<option value="hartwell" selected>' in text and '<option value="dearborn" selected>' in text
    assert 'data-testid="organization-3"' in text and "no client matches" in text  # Lakeside Dental
    assert SECRET not in text
    chosen = _form(ninja, allowed_scripts="Disk Cleanup") | {"map-1": "hartwell", "map-2": "dearborn", "map-3": ""}
    done = mona.post(PAGE + "connect/", chosen, **HTMX)
    assert done.status_code == 200, done.content
    text = done.content.decode()
    assert 'data-testid="result-hartwell"' in text and 'data-testid="result-dearborn"' in text
    assert "Lakeside" not in text
    for client, org in ((hartwell, 1), (dearborn, 2)):
        with tenant_context(client):
            connector = Connector.objects.get(kind=Kind.NINJAONE)
            settings = draft_of(connector, client).settings
        assert settings["organizations"] == [org] and settings["allowed_scripts"] == ["Disk Cleanup"]
    again = mona.post(PAGE + "organizations/", _form(ninja), **HTMX).content.decode()
    assert again.count('data-testid="organization-mapped"') == 2  # a re-run shows what each serves


def test_bad_input_is_said_in_the_page(as_user: Any, ninja: NinjaOneSandbox, hartwell: Any) -> None:
    mona = as_user("mona", "public")
    missing = mona.post(PAGE + "organizations/", _form(ninja, client_secret=""), **HTMX)
    assert missing.status_code == 400 and b"Client secret: This field is required." in missing.content
    wrong = mona.post(PAGE + "organizations/", _form(ninja, client_secret="wrong"), **HTMX)
    assert wrong.status_code == 400 and b"Could not list NinjaOne" in wrong.content
    nothing = mona.post(PAGE + "connect/", _form(ninja), **HTMX)
    assert nothing.status_code == 400 and b"Choose a client for at least one organization" in nothing.content
    stranger = mona.post(PAGE + "connect/", _form(ninja) | {"map-1": "nosuchclient"}, **HTMX)
    assert stranger.status_code == 400 and b"No Gaby client nosuchclient" in stranger.content
    with tenant_context(hartwell):
        assert not Connector.objects.filter(kind=Kind.NINJAONE).exists()


def test_psa_company_mappings_are_shown_read_only(as_user: Any, hartwell: Any) -> None:
    with tenant_context(hartwell):
        tickets.create_source(
            client=hartwell,
            kind="connectwise",
            name="Hartwell in Manage",
            config={"url": "https://na.myconnectwise.net", "cw_company_id": "250", "company_id": "bluemesa"},
        )
    page = as_user("mona", "public").get(PAGE).content.decode()
    row = page[page.index('data-testid="psa-hartwell"') :]
    row = row[: row.index("</tr>")]
    assert "Hartwell in Manage" in row and "ConnectWise" in row and ">250<" in row
