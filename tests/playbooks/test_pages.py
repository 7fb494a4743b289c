"""The Playbooks page: members read, Admins change, other clients never see a client's playbooks."""

from __future__ import annotations

from typing import Any

from django.core.files.uploadedfile import SimpleUploadedFile
from django_tenants.utils import tenant_context

from apps.agent.playbooks.models import ClientPlaybook
from apps.auditlog.models import AuditEvent

OWN = """
name: printer-jam
description: Tell people how to clear a jammed printer.
intent: [the printer is jammed]
steps: []
replies: {resolved: "Open tray 2 and pull the sheet out gently."}
"""


def test_members_see_the_library_and_problems(as_user: Any) -> None:
    page = as_user("bob", "hartwell").get("/playbooks/")
    body = page.content.decode()
    assert page.status_code == 200 and 'data-testid="playbook-keycloak-password-reset"' in body
    assert 'data-testid="upload-form"' not in body  # Agents read, Admins change
    detail = as_user("bob", "hartwell").get("/playbooks/stripe-refund-request/")
    assert detail.status_code == 200 and "(proposed to a human)" in detail.content.decode()
    assert as_user("bob", "hartwell").get("/playbooks/no-such-playbook/").status_code == 404


def test_only_admins_change_playbooks(as_user: Any) -> None:
    assert as_user("bob", "hartwell").post("/playbooks/upload/", {"yaml_text": OWN}).status_code == 403
    assert as_user("bob", "hartwell").post("/playbooks/keycloak-password-reset/toggle/").status_code == 403


def test_other_clients_get_nothing(as_user: Any, hartwell: Any, dearborn: Any) -> None:
    assert as_user("carol", "hartwell").get("/playbooks/").status_code == 403
    assert as_user("carol", "hartwell").post("/playbooks/upload/", {"yaml_text": OWN}).status_code == 403
    assert as_user("alice", "hartwell").post("/playbooks/upload/", {"yaml_text": OWN}).status_code == 302
    assert as_user("carol", "dearborn").get("/playbooks/printer-jam/").status_code == 404
    with tenant_context(dearborn):
        assert not ClientPlaybook.objects.exists()


def test_upload_validates_and_shows_every_problem(as_user: Any, hartwell: Any) -> None:
    broken = OWN.replace("intent: [the printer is jammed]", "intent: []").replace("resolved:", "done:")
    page = as_user("alice", "hartwell").post("/playbooks/upload/", {"yaml_text": broken}, HTTP_HX_REQUEST="true")
    body = page.content.decode()
    assert page.status_code == 400 and 'data-testid="upload-problems"' in body
    assert "upload: intent: required" in body and "upload: replies.resolved: required" in body
    assert "<html" not in body  # htmx gets the form partial only
    empty = as_user("alice", "hartwell").post("/playbooks/upload/", {"yaml_text": "  "})
    assert empty.status_code == 400 and "Paste the playbook" in empty.content.decode()
    with tenant_context(hartwell):
        assert not ClientPlaybook.objects.exists()


def test_upload_a_file_then_switch_off_and_remove(as_user: Any, hartwell: Any) -> None:
    alice = as_user("alice", "hartwell")
    upload = SimpleUploadedFile("printer.yaml", OWN.encode(), content_type="application/x-yaml")
    assert alice.post("/playbooks/upload/", {"file": upload}).url == "/playbooks/printer-jam/"
    table = alice.post("/playbooks/printer-jam/toggle/", HTTP_HX_REQUEST="true")
    assert table.status_code == 200 and 'data-testid="state-printer-jam">off' in table.content.decode()
    shipped = alice.post("/playbooks/stripe-refund-request/toggle/")
    assert shipped.status_code == 302
    assert alice.post("/playbooks/stripe-refund-request/remove/").status_code == 404  # shipped: switch it off only
    assert alice.post("/playbooks/printer-jam/remove/").status_code == 302
    with tenant_context(hartwell):
        assert list(ClientPlaybook.objects.values_list("name", "enabled")) == [("stripe-refund-request", False)]
        events = list(AuditEvent.objects.filter(event__startswith="playbook.").values_list("event", flat=True))
    assert sorted(events) == ["playbook.disabled", "playbook.disabled", "playbook.removed", "playbook.saved"]
