"""Each help desk's page of a ticket, as its adapter builds it from the source's configuration (the vendors' own
link formats) or as Zoho Desk and Linear answer it (recorded exchanges); sources without a web page give None.
Zendesk, HaloPSA and Autotask are also checked through the escalation DM
(tests/agent/test_slack_escalation_helpdesk.py)."""

from __future__ import annotations

import pytest

from apps.tickets.sources.base import SourceError
from apps.tickets.sources.registry import adapter_class
from tests.tickets.recorded import replaying


def url(kind: str, external_id: str, *, source_id: str = "s", **config: str) -> str | None:
    return adapter_class(kind)(source_id=source_id, config=config).ticket_url(external_id)


def test_freshdesk_links_the_agent_ticket_page() -> None:
    assert url("freshdesk", "42", base_url="https://acme.freshdesk.com/") == "https://acme.freshdesk.com/a/tickets/42"


def test_github_links_the_issue_on_github_or_an_enterprise_server() -> None:
    cloud = url("github", "7", base_url="https://api.github.com", repository="acme/app")
    assert cloud == "https://github.com/acme/app/issues/7"
    ghes = url("github", "7", base_url="https://git.acme.example/api/v3", repository="acme/app")
    assert ghes == "https://git.acme.example/acme/app/issues/7"


def test_connectwise_links_the_manage_service_ticket_on_the_web_host() -> None:
    found = url("connectwise", "123", site_url="https://api-na.myconnectwise.net", company_id="northwind")
    assert found == (
        "https://na.myconnectwise.net/v4_6_release/services/system_io/Service/fv_sr100_request.rails"
        "?service_recid=123&companyName=northwind"
    )


def test_sources_without_a_web_page_have_no_link() -> None:
    assert url("email", "<m@x>") is None
    assert url("webhook", "T-1") is None


def test_a_source_missing_its_address_says_what_to_fix() -> None:
    with pytest.raises(SourceError, match="no 'base_url'"):
        url("zendesk", "1")


def test_zoho_desk_and_linear_are_asked_for_the_page_over_http() -> None:
    with replaying("zoho", "ticket_url") as zoho:
        config = {"base_url": zoho.url, "accounts_url": zoho.url, "org_id": "6482519", "client_id": "c"}
        found = url("zoho", "3001", **config, client_secret="s", refresh_token="r", source_id="zoho-url")
        zoho.check()
    assert found == "https://desk.zoho.com/support/hartwell/ShowHomePage.do#Cases/dv/3001"
    with replaying("linear", "ticket_url") as linear:
        found = url("linear", "9b2c7e0a-issue", base_url=linear.url, api_key="lin_api_test")
        linear.check()
    assert found == "https://linear.app/hartwell/issue/SUP-12/vpn-drops"
