"""The first-run checklist: each step checks itself off from the client's real state, two can be kept as they are,
and the empty inbox shows it until it is complete or an Admin hides it."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from django_tenants.utils import tenant_context

from apps.auditlog.models import AuditEvent
from apps.chat.widgets import create_widget
from apps.knowledge.models import SourceKind as KnowledgeKind
from apps.knowledge.services import create_source as create_knowledge_source
from apps.knowledge.services import sync_now
from apps.llm.models import LLMProvider, ModelRoute
from apps.tickets import services as tickets
from tenants.models import Client

pytestmark = pytest.mark.django_db
STEPS = ("tickets", "knowledge", "model", "widget", "autonomy")


def _done(client: Any) -> dict[str, bool]:
    body = client.get("/setup/").content.decode()
    found = dict(re.findall(r'data-testid="setup-step-(\w+)" data-done="(true|false)"', body))
    assert set(found) == set(STEPS)
    return {key: value == "true" for key, value in found.items()}


def test_each_step_checks_itself_off_from_real_state(as_user: Any, hartwell: Any, tmp_path: Path) -> None:
    alice = as_user("alice", "hartwell")
    assert _done(alice) == dict.fromkeys(STEPS, False)
    docs = tmp_path / "runbooks"
    docs.mkdir()
    (docs / "vpn.md").write_text("# VPN\n\nReset it at the self-service page.\n")
    with tenant_context(hartwell):
        tickets.create_source(client=hartwell, kind="webhook", name="CRM", config={})
        sync_now(
            source=create_knowledge_source(
                kind=KnowledgeKind.DIRECTORY, name="Runbooks", config={"path": str(docs)}, server_paths=True
            )
        )
        provider = LLMProvider.objects.create(name="Local", kind="openai_compatible", api_base="http://127.0.0.1:1")
        ModelRoute.objects.create(workflow="plan", provider=provider, model="qwen")
        create_widget(client=hartwell, changes={"name": "Site", "allowed_origins": ["https://hartwell.example"]})
    Client.objects.filter(pk=hartwell.pk).update(autonomy="review")
    assert _done(alice) == dict.fromkeys(STEPS, True)
    assert "5 of 5 done" in alice.get("/setup/").content.decode()


def test_the_chat_widgets_own_inbox_source_is_not_a_connected_help_desk(as_user: Any, hartwell: Any) -> None:
    from apps.chat.services import CHAT_SOURCE_NAME

    with tenant_context(hartwell):
        tickets.create_source(client=hartwell, kind="webhook", name=CHAT_SOURCE_NAME, config={})
    assert _done(as_user("alice", "hartwell"))["tickets"] is False


def test_an_admin_keeps_no_llm_and_investigate_as_answers(as_user: Any, hartwell: Any) -> None:
    alice = as_user("alice", "hartwell")
    response = alice.post("/setup/confirm/model/", HTTP_HX_REQUEST="true")
    assert response.status_code == 200 and "No LLM, by choice" in response.content.decode()
    alice.post("/setup/confirm/autonomy/")
    done = _done(alice)
    assert done["model"] and done["autonomy"] and not done["tickets"]
    with tenant_context(hartwell):
        assert AuditEvent.objects.filter(event="setup.confirmed").count() == 2
    assert alice.post("/setup/confirm/tickets/").status_code == 404  # only a default can be kept
    assert as_user("bob", "hartwell").post("/setup/confirm/model/").status_code == 403


def test_the_empty_inbox_shows_it_until_an_admin_hides_it(as_user: Any, hartwell: Any) -> None:
    alice = as_user("alice", "hartwell")
    inbox = alice.get("/inbox/").content.decode()
    assert 'data-testid="setup-checklist"' in inbox and 'data-testid="setup-hide"' in inbox
    assert 'data-testid="setup-checklist"' not in alice.get("/inbox/?q=printer").content.decode()  # a search
    assert alice.post("/setup/hide/", HTTP_HX_REQUEST="true").content == b""
    assert 'data-testid="setup-checklist"' not in alice.get("/inbox/").content.decode()
    assert 'data-testid="setup-checklist"' in alice.get("/setup/").content.decode()  # still one click away


def test_other_clients_get_nothing(as_user: Any) -> None:
    carol = as_user("carol", "hartwell")
    assert carol.get("/setup/").status_code == 403
    assert carol.post("/setup/hide/").status_code == 403
