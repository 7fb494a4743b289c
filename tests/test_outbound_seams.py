"""The outbound-URL policy where Gaby posts and calls out (issue 18, item 1): outbound webhooks, approval notices,
the OpenAPI connector (in its own process) and LLM providers — refused when saved (a 4xx saying why) and again
when used, with nothing sent and nothing stored as an answer. Knowledge sources: tests/knowledge/test_ssrf.py."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from apps.agent.prompts import load_prompt
from apps.connectors import services as connectors
from apps.connectors.servers.openapi.http import ApiClient, Auth
from apps.connectors.specs import openapi_draft
from apps.llm.budget import Budget, LLMError
from apps.llm.embeddings import embed
from apps.llm.gateway import LLMGateway
from apps.llm.models import CallStatus, LLMCall
from apps.llm.services import save_provider, set_route
from apps.safety.notify.webhooks import WebhookClient, WebhookError
from apps.tickets.outbound import services as webhooks
from apps.tickets.outbound.delivery import deliver
from apps.tickets.outbound.models import WebhookAttempt, WebhookDelivery, WebhookEvent
from tests.connectors.api_server import DOCUMENT, TOKEN, serve_api
from tests.http_receiver import http_receiver
from tests.llm_server import Reply, ScriptedLLM

pytestmark = pytest.mark.django_db
HX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def production(settings: Any) -> Any:
    settings.OUTBOUND_ALLOW = []  # the production default; the test profile allows loopback
    return settings


# --- Outbound webhooks (apps/tickets/outbound) ------------------------------------------------------------


def test_a_webhook_endpoint_inside_the_network_is_refused_on_the_page(as_user: Any, production: Any) -> None:
    alice = as_user("alice", "hartwell")
    for url, said in (
        ("http://127.0.0.1:6379/", "resolves to 127.0.0.1, a loopback address"),
        ("http://169.254.169.254/latest/meta-data/", "a link-local (cloud metadata) address"),
    ):
        response = alice.post("/inbox/webhooks/new/", {"url": url, "events": ["ticket.created"]}, **HX)
        assert response.status_code == 400 and said in response.content.decode()


def test_a_webhook_to_loopback_is_not_sent_and_no_answer_is_stored(in_hartwell: Any, settings: Any) -> None:
    with http_receiver("/hooks/gaby") as receiver:
        endpoint, _ = webhooks.create_endpoint(client=in_hartwell, url=receiver.url, event_types=["ticket.created"])
        event = WebhookEvent.objects.create(type="ticket.created", payload={"id": "t-1", "title": "Printer"})
        delivery = WebhookDelivery.objects.create(event=event, endpoint=endpoint)
        settings.OUTBOUND_ALLOW = []  # saved while allowed; now the policy refuses it
        assert deliver(delivery.pk, manual=True) == "failed"
        assert receiver.requests == []
    attempt = WebhookAttempt.objects.get(delivery=delivery)
    assert attempt.status_code is None and attempt.response_excerpt == ""
    assert "resolves to 127.0.0.1, a loopback address" in attempt.error and "GABY_OUTBOUND_ALLOW" in attempt.error
    delivery.refresh_from_db()
    assert delivery.last_status_code is None and "loopback" in delivery.last_error


def test_a_webhook_redirect_is_not_followed(in_hartwell: Any) -> None:
    with http_receiver("/hooks/gaby") as receiver:
        receiver.script.append((307, {"Location": "http://169.254.169.254/latest/"}, ""))
        endpoint, _ = webhooks.create_endpoint(client=in_hartwell, url=receiver.url, event_types=["ticket.created"])
        event = WebhookEvent.objects.create(type="ticket.created", payload={"id": "t-2"})
        delivery = WebhookDelivery.objects.create(event=event, endpoint=endpoint)
        assert deliver(delivery.pk, manual=True) == "failed"
    assert WebhookAttempt.objects.get(delivery=delivery).status_code == 307 and len(receiver.requests) == 1


def test_an_approval_notice_to_an_internal_address_fails_for_good(production: Any) -> None:
    with http_receiver("/slack") as receiver:
        with pytest.raises(WebhookError, match=r"resolves to 127\.0\.0\.1, a loopback address"):
            WebhookClient().post_json(receiver.url, {"text": "Approve the refund?"})
        with pytest.raises(WebhookError, match="cloud metadata"):
            WebhookClient().post_json("http://metadata.google.internal/computeMetadata/v1/", {"text": "x"})
    assert receiver.requests == []


# --- The OpenAPI connector (apps/connectors/servers/openapi) -----------------------------------------------


def test_an_openapi_document_or_base_url_inside_the_network_is_refused_when_connecting(
    as_user: Any, production: Any
) -> None:
    alice = as_user("alice", "hartwell")
    form = {"name": "Billing", "spec": "http://169.254.169.254/openapi.json", "auth": "none", "autonomy": "investigate"}
    probe = alice.post("/connectors/new/openapi/test/", form, **HX)
    assert probe.status_code == 400 and "a link-local (cloud metadata) address" in probe.content.decode()
    form.update(spec="https://api.example.com/openapi.json", base_url="http://[::1]:8080/v1")
    probe = alice.post("/connectors/new/openapi/test/", form, **HX)
    assert probe.status_code == 400 and "resolves to ::1, a loopback address" in probe.content.decode()


def test_the_openapi_document_fetch_obeys_the_policy(production: Any) -> None:
    with serve_api() as api:
        with pytest.raises(ConnectionError, match=r"Cannot fetch the OpenAPI document: .* a loopback address"):
            ApiClient(Auth()).fetch_document(api.url)
        assert api.requests == []


def test_the_openapi_server_refuses_an_internal_server_from_its_document(
    in_hartwell: Any, people: dict[str, Any], production: Any, tmp_path: Path
) -> None:
    """MSP staff load a document from a file; its ``servers`` entry points at loopback. The connector process
    (which runs without Django, with the allow-list in its environment) refuses every call to it."""
    with serve_api() as api:
        document = {**DOCUMENT, "servers": [{"url": api.url.removesuffix("/openapi.json") + "/v1"}]}
        spec = tmp_path / "billing.json"
        spec.write_text(json.dumps(document))
        draft = openapi_draft(name="Billing", spec=str(spec), auth="bearer", secret=TOKEN)
        connector = connectors.connect(client=in_hartwell, draft=draft, actor=people["mona"])
        result = connectors.execute_tool_call(
            connector=connector, tool_name="getCustomer", arguments={"customerId": "cus_1"}, actor=None
        )
        assert result.is_error and "was not sent" in result.text and "a loopback address" in result.text
        assert api.requests == []


# --- LLM providers (apps/agent) -----------------------------------------------------------------------------


def test_an_llm_base_url_inside_the_network_is_refused_on_the_page(as_user: Any, production: Any) -> None:
    alice = as_user("alice", "hartwell")
    for base, said in (
        ("http://169.254.169.254/v1", "a link-local (cloud metadata) address"),
        ("http://localhost:11434", "resolves to 127.0.0.1, a loopback address"),
    ):
        response = alice.post("/models/providers/new/", {"name": "Ollama", "kind": "ollama", "api_base": base})
        assert response.status_code == 400 and said in response.content.decode()


def test_an_llm_base_url_refused_since_saving_is_skipped_before_each_call(
    in_hartwell: Any, settings: Any, llm: ScriptedLLM
) -> None:
    provider = save_provider(client=in_hartwell, name="local", kind="openai_compatible", api_base=llm.base_url)
    set_route(workflow="reply", provider=provider, model="tiny")
    llm.then(Reply("never asked"))
    settings.OUTBOUND_ALLOW = []
    gateway = LLMGateway(in_hartwell, backoff_seconds=0.01)
    with pytest.raises(LLMError, match="a loopback address"):
        gateway.complete(
            workflow="reply",
            prompt=load_prompt("reply"),
            variables={"client_name": "Hartwell", "tone": "friendly"},
            budget=Budget("inv-ssrf"),
        )
    call = LLMCall.objects.get()
    assert call.status == CallStatus.ERROR and "GABY_OUTBOUND_ALLOW" in call.error and call.attempt == 1
    with pytest.raises(LLMError, match=r"refused: .* a loopback address"):
        embed(in_hartwell, provider, "tiny-embed", ["vpn"], dimensions=8)
    assert llm.requests == [] and llm.embedding_requests == []


# --- First-party vendor connectors (Keycloak, Stripe) -------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "form", "field_message"),
    [
        (
            "keycloak",
            {"url": "http://169.254.169.254", "realm": "acme", "client_id": "gaby", "client_secret": "s"},
            "a link-local (cloud metadata) address",
        ),
        ("stripe", {"api_key": "rk_test_x", "api_base": "http://127.0.0.1:9/"}, "a loopback address"),
    ],
)
def test_a_vendor_url_inside_the_network_is_refused_when_connecting(
    as_user: Any, production: Any, kind: str, form: dict[str, str], field_message: str
) -> None:
    probe = as_user("alice", "hartwell").post(
        f"/connectors/new/{kind}/test/", {"name": "Vendor", "autonomy": "investigate", **form}, **HX
    )
    assert probe.status_code == 400 and field_message in probe.content.decode()


def test_the_vendor_connectors_http_seam_obeys_the_policy(production: Any) -> None:
    """Keycloak and Stripe run as their own processes; their one HTTP seam refuses an internal address."""
    from apps.connectors.servers.rest import RestClient, VendorError
    from sandbox.stripe import StripeSandbox

    with StripeSandbox() as stripe:
        client = RestClient(vendor="Stripe", base_url=stripe.base_url, attempts=1)
        with pytest.raises(VendorError, match="a loopback address"):
            client.send("GET", "/v1/customers", retry=True)
        assert stripe.requests == []


# --- Generic MCP servers over HTTP, and the source-code connector's git remote -------------------------------


def test_an_mcp_server_url_inside_the_network_is_refused_when_saved(in_hartwell: Any, production: Any) -> None:
    from django.core.exceptions import ValidationError

    from apps.connectors.drafts import validate_draft
    from apps.connectors.models import Kind, Transport
    from apps.connectors.specs import Draft

    draft = Draft(kind=Kind.MCP_HTTP, name="Internal", transport=Transport.HTTP, url="http://169.254.169.254/mcp")
    with pytest.raises(ValidationError, match="link-local"):
        validate_draft(draft, actor=None)


def test_the_mcp_http_transport_checks_every_request(production: Any) -> None:
    """Saved while allowed, refused since: the host never sends the MCP server a byte."""
    from apps.connectors.calls import ConnectorUnavailable, ServerSpec
    from apps.connectors.host import host

    with http_receiver("/mcp") as server:
        spec = ServerSpec(label="hartwell/probe", transport="http", url=server.url, connect_timeout=5)
        with pytest.raises(ConnectorUnavailable, match="a loopback address"):
            host().list_tools(spec)
        assert server.requests == []


@pytest.mark.parametrize(
    ("repo", "why"),
    [
        ("http://127.0.0.1:9/acme/billing.git", "a loopback address"),
        ("https://169.254.169.254/latest/meta-data.git", "link-local"),
        ("ssh://git@10.0.0.7/acme/billing.git", "a private address"),
        ("git@10.0.0.7:acme/billing.git", "a private address"),  # scp-like, as git reads it
    ],
)
def test_a_code_repository_inside_the_network_is_refused_when_saved_and_when_cloned(
    production: Any, tmp_path: Path, repo: str, why: str
) -> None:
    from django.core.exceptions import ValidationError

    from apps.connectors.servers.code.repo import Repo, RepoError
    from apps.connectors.specs import check_code_settings

    with pytest.raises(ValidationError, match=why):
        check_code_settings({"repo": repo}, trusted=True)
    with pytest.raises(RepoError, match=why):
        Repo(repo, cache_dir=tmp_path / "mirror.git").sync(force=True)
    assert not (tmp_path / "mirror.git").exists()


def test_a_code_repository_clone_is_pinned_to_the_address_checked() -> None:
    from apps.core import outbound_git

    remote, options = outbound_git.network_options("http://localhost:9/acme/billing.git")
    assert remote == "http://localhost:9/acme/billing.git"
    assert "protocol.allow=never" in options and "protocol.http.allow=always" in options
    assert "http.followRedirects=false" in options
    assert any(o.startswith("http.curloptResolve=localhost:9:") for o in options)
    assert outbound_git.as_url("git@github.com:acme/billing.git") == "ssh://git@github.com/acme/billing.git"
