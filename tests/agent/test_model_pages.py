"""The Models page (providers, routes) and the LLM call log, through real requests and a real model server."""

from collections.abc import Iterator
from typing import Any

import pytest
from django_tenants.utils import tenant_context

from apps.agent.prompts import load_prompt
from apps.auditlog.models import AuditEvent
from apps.llm.budget import Budget, Untrusted
from apps.llm.gateway import LLMGateway
from apps.llm.models import LLMCall, LLMProvider, ModelRoute
from tenants.models import Client
from tests.llm_server import Reply, ScriptedLLM


@pytest.fixture
def llm() -> Iterator[ScriptedLLM]:
    server = ScriptedLLM()
    yield server
    server.close()


def _add_provider(alice: Any, server: ScriptedLLM, name: str = "Local") -> Any:
    return alice.post(
        "/models/providers/new/",
        {
            "name": name,
            "kind": "openai_compatible",
            "api_base": server.base_url,
            "api_key": "sk-live-abc123",
        },
    )


def test_an_admin_adds_a_provider_whose_key_is_sealed_and_never_shown(
    as_user: Any, hartwell: Client, llm: ScriptedLLM
) -> None:
    alice = as_user("alice", "hartwell")
    response = _add_provider(alice, llm)
    assert response.status_code == 302
    page = alice.get("/models/").content.decode()
    assert 'data-testid="provider-local"' in page and "stored, encrypted" in page
    assert "sk-live-abc123" not in page
    with tenant_context(hartwell):
        provider = LLMProvider.objects.get(name="Local")
        assert provider.sealed_credentials and "sk-live-abc123" not in provider.sealed_credentials
        assert AuditEvent.objects.filter(event="llm.provider_saved").exists()
        edit = alice.get(f"/models/providers/{provider.pk}/").content.decode()
    assert "sk-live-abc123" not in edit and 'data-testid="credentials-stored"' in edit


def test_a_form_error_says_what_to_fix(as_user: Any, llm: ScriptedLLM) -> None:
    alice = as_user("alice", "hartwell")
    missing_base = alice.post("/models/providers/new/", {"name": "Ollama", "kind": "ollama"})
    assert missing_base.status_code == 400 and "needs its base URL" in missing_base.content.decode()
    stray = alice.post("/models/providers/new/", {"name": "B", "kind": "bedrock", "api_key": "x"})
    assert stray.status_code == 400 and "does not use: API key" in stray.content.decode()


def test_routes_with_fallbacks_are_saved_and_bad_lines_are_named(
    as_user: Any, hartwell: Client, llm: ScriptedLLM
) -> None:
    alice = as_user("alice", "hartwell")
    _add_provider(alice, llm, "Primary")
    _add_provider(alice, llm, "Backup")
    with tenant_context(hartwell):
        primary = LLMProvider.objects.get(name="Primary")
    form = {
        "workflow": "verdict",
        "provider": str(primary.pk),
        "model": "big",
        "max_output_tokens": 800,
        "temperature": 0.1,
        "timeout_seconds": 30,
    }
    bad = alice.post("/models/routes/", {**form, "fallbacks": "Nobody / small"}, HTTP_HX_REQUEST="true")
    assert bad.status_code == 400 and "no enabled provider is named “Nobody”" in bad.content.decode()
    ok = alice.post("/models/routes/", {**form, "fallbacks": "backup / org/small-model"}, HTTP_HX_REQUEST="true")
    assert ok.status_code == 200 and 'data-testid="route-verdict"' in ok.content.decode()
    with tenant_context(hartwell):
        route = ModelRoute.objects.get(workflow="verdict")
        backup = LLMProvider.objects.get(name="Backup")
    assert (route.model, route.fallbacks) == ("big", [{"provider": str(backup.pk), "model": "org/small-model"}])
    assert alice.post("/models/routes/verdict/clear/").status_code == 302
    with tenant_context(hartwell):
        assert not ModelRoute.objects.filter(workflow="verdict").exists()


def test_agents_see_models_but_only_admins_change_them_and_other_clients_get_nothing(
    as_user: Any, hartwell: Client, llm: ScriptedLLM
) -> None:
    _add_provider(as_user("alice", "hartwell"), llm)
    with tenant_context(hartwell):
        provider = LLMProvider.objects.get(name="Local")
    bob = as_user("bob", "hartwell")
    page = bob.get("/models/")
    assert page.status_code == 200 and 'data-testid="add-provider"' not in page.content.decode()
    assert bob.post("/models/providers/new/", {"name": "x", "kind": "openai"}).status_code == 403
    assert bob.post(f"/models/providers/{provider.pk}/enabled/", {"enabled": "0"}).status_code == 403
    carol = as_user("carol", "hartwell")
    assert carol.get("/models/").status_code == 403
    assert carol.get("/models/calls/").status_code == 403
    assert as_user("carol", "dearborn").get(f"/models/providers/{provider.pk}/").status_code == 404


def test_every_call_is_listed_with_what_was_sent_after_redaction(
    as_user: Any, hartwell: Client, llm: ScriptedLLM
) -> None:
    alice = as_user("alice", "hartwell")
    _add_provider(alice, llm)
    with tenant_context(hartwell):
        provider = LLMProvider.objects.get(name="Local")
        route = {
            "workflow": "reply",
            "provider": str(provider.pk),
            "model": "tiny",
            "max_output_tokens": 200,
            "temperature": 0.2,
            "timeout_seconds": 10,
        }
        alice.post("/models/routes/", route)
        llm.then(Reply("Hello [EMAIL_1], done.", usage=(40, 6)))
        LLMGateway(hartwell).complete(
            workflow="reply",
            prompt=load_prompt("reply"),
            variables={"client_name": "Hartwell", "tone": "formal"},
            untrusted=[Untrusted("ticket", "I am jane@example.com, please help")],
            budget=Budget("inv-42"),
        )
        call = LLMCall.objects.get()
    listing = alice.get("/models/calls/?budget=inv-42").content.decode()
    assert f'data-testid="call-{call.pk}"' in listing and "1 call" in listing and "40 in / 6 out" in listing
    assert "No calls match" in alice.get("/models/calls/?status=error").content.decode()
    detail = alice.get(f"/models/calls/{call.pk}/").content.decode()
    assert "[EMAIL_1]" in detail and "jane@example.com" not in detail
    assert f"reply v{call.prompt_version}" in detail
    assert as_user("carol", "dearborn").get(f"/models/calls/{call.pk}/").status_code == 404
