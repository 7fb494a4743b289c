"""Connecting a help desk from the sources page: admins only, clear field errors, secrets sealed."""

from typing import Any

import pytest
from django_tenants.utils import tenant_context

from apps.tickets import services
from apps.tickets.models import TicketSource

pytestmark = pytest.mark.django_db
ZENDESK = {
    "name": "Acme Zendesk",
    "poll_interval_seconds": "120",
    "subdomain": "https://acme.zendesk.com",
    "email": "agent@acme.example",
    "api_token": "zd-secret-token",
    "webhook_secret": "signing-secret",
}


def test_an_admin_connects_zendesk_and_the_token_is_sealed(as_user: Any, hartwell: Any) -> None:
    alice = as_user("alice", "hartwell")
    page = alice.get("/inbox/sources/connect/zendesk/")
    assert page.status_code == 200 and 'data-testid="field-api_token"' in page.content.decode()
    response = alice.post("/inbox/sources/connect/zendesk/", ZENDESK)
    assert response.status_code == 302 and response["Location"] == "/inbox/sources/"
    with tenant_context(hartwell):
        source = TicketSource.objects.get(kind="zendesk")
        assert "zd-secret-token" not in source.sealed_config
        assert services.source_config(client=hartwell, source=source) == {
            "base_url": "https://acme.zendesk.com",
            "email": "agent@acme.example",
            "api_token": "zd-secret-token",
            "webhook_secret": "signing-secret",
        }
    listing = alice.get("/inbox/sources/").content.decode()
    assert f"/api/v1/sources/{source.pk}/webhook/zendesk" in listing and "Connected Acme Zendesk" in listing


def test_field_errors_say_what_to_fix(as_user: Any, hartwell: Any) -> None:
    alice = as_user("alice", "hartwell")
    bad = dict(ZENDESK, subdomain="acme zendesk!", poll_interval_seconds="5", api_token="")
    response = alice.post("/inbox/sources/connect/zendesk/", bad, HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert response.status_code == 400 and "<html" not in html  # the form partial only
    assert "Give only your Zendesk subdomain" in html and "at most every 30 seconds" in html
    assert 'data-testid="error-api_token"' in html
    assert alice.get("/inbox/sources/connect/nosuchdesk/").status_code == 404
    with tenant_context(hartwell):
        assert not TicketSource.objects.exists()


@pytest.mark.parametrize(("persona", "where"), [("bob", "hartwell"), ("carol", "hartwell")])
def test_only_admins_of_the_client_connect_sources(as_user: Any, hartwell: Any, persona: str, where: str) -> None:
    client = as_user(persona, where)
    assert client.get("/inbox/sources/connect/zendesk/").status_code == 403
    assert client.post("/inbox/sources/connect/zendesk/", ZENDESK).status_code == 403
    with tenant_context(hartwell):
        assert not TicketSource.objects.exists()
    if persona == "bob":
        assert 'data-testid="connect-links"' not in client.get("/inbox/sources/").content.decode()


@pytest.mark.parametrize(
    ("kind", "fields", "config"),
    [
        (
            "freshdesk",
            {"domain": "acme", "api_key": "fd-key", "webhook_secret": "0123456789abcdef"},
            {"base_url": "https://acme.freshdesk.com", "api_key": "fd-key", "webhook_secret": "0123456789abcdef"},
        ),
        (
            "zoho",
            {
                "data_centre": "eu",
                "org_id": "6482519",
                "client_id": "1000.ID",
                "client_secret": "s",
                "refresh_token": "1000.r",
                "from_email": "help@acme.example",
            },
            {
                "base_url": "https://desk.zoho.eu",
                "accounts_url": "https://accounts.zoho.eu",
                "org_id": "6482519",
                "client_id": "1000.ID",
                "client_secret": "s",
                "refresh_token": "1000.r",
                "from_email": "help@acme.example",
            },
        ),
        (
            "github",
            {"repository": "https://github.com/acme/support/", "token": "github_pat_x", "webhook_secret": ""},
            {
                "base_url": "https://api.github.com",
                "repository": "acme/support",
                "token": "github_pat_x",
                "webhook_secret": "",
            },
        ),
        (
            "linear",
            {"api_key": "lin_api_x", "team_key": "sup", "webhook_secret": "w"},
            {"base_url": "https://api.linear.app", "api_key": "lin_api_x", "team_key": "SUP", "webhook_secret": "w"},
        ),
    ],
)
def test_each_help_desk_form_builds_its_configuration(
    as_user: Any, hartwell: Any, kind: str, fields: dict[str, str], config: dict[str, str]
) -> None:
    response = as_user("alice", "hartwell").post(
        f"/inbox/sources/connect/{kind}/", {"name": kind, "poll_interval_seconds": "300", **fields}
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    with tenant_context(hartwell):
        source = TicketSource.objects.get(kind=kind)
        assert source.poll_interval_seconds == 300
        assert services.source_config(client=hartwell, source=source) == config


@pytest.mark.parametrize(
    ("kind", "fields", "message"),
    [
        ("freshdesk", {"domain": "acme", "api_key": "k", "webhook_secret": "short"}, "at least 16 characters"),
        (
            "zoho",
            {"data_centre": "com", "org_id": "acme", "client_id": "i", "client_secret": "s", "refresh_token": "r"},
            "is a number",
        ),
        ("github", {"repository": "acme", "token": "t"}, "owner/name"),
        ("linear", {"api_key": "k", "team_key": "SUP-1"}, "letters and digits"),
    ],
)
def test_each_help_desk_form_says_what_to_fix(
    as_user: Any, hartwell: Any, kind: str, fields: dict[str, str], message: str
) -> None:
    response = as_user("alice", "hartwell").post(
        f"/inbox/sources/connect/{kind}/", {"name": kind, "poll_interval_seconds": "300", **fields}
    )
    assert response.status_code == 400 and message in response.content.decode()


def test_an_admin_connects_a_mailbox_in_the_ui_and_its_mail_becomes_a_ticket(
    as_user: Any, hartwell: Any, imap_server: Any, smtp_server: Any
) -> None:
    from apps.tickets import polling
    from apps.tickets.models import Ticket
    from tests.tickets.test_email import customer_email

    controller, _ = smtp_server
    imap = imap_server.config()
    alice = as_user("alice", "hartwell")
    assert 'data-testid="connect-email"' in alice.get("/inbox/sources/").content.decode()
    form = {
        "name": "Support mailbox",
        "poll_interval_seconds": "60",
        "imap_host": imap["imap_host"],
        "imap_port": str(imap["imap_port"]),
        "imap_security": imap["imap_security"],
        "imap_user": imap["imap_user"],
        "imap_password": imap["imap_password"],
        "mailbox": "INBOX",
        "smtp_host": controller.hostname,
        "smtp_port": str(controller.port),
        "smtp_security": "none",
        "smtp_user": "",
        "smtp_password": "",
        "from_address": "Hartwell Support <support@hartwell.example>",
    }
    bad = alice.post("/inbox/sources/connect/email/", dict(form, from_address="support desk", imap_host="imap:993"))
    html = bad.content.decode()
    assert bad.status_code == 400 and "Give an email address, alone or as Name" in html
    assert "host name only" in html
    assert alice.post("/inbox/sources/connect/email/", form).status_code == 302
    imap_server.deliver(customer_email())
    with tenant_context(hartwell):
        source = TicketSource.objects.get(kind="email")
        assert imap["imap_password"] not in source.sealed_config
        assert polling.poll(source.pk).created == 1
        assert Ticket.objects.get().title == "Cannot open the shared drive"
