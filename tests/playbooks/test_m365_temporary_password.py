"""The temporary password of an approved Microsoft 365 reset, on the whole path: an email from Sam → the playbook
holds the reset → Alice approves it on the approvals page → the worker runs it through the real MCP server against
the Graph stand-in. The password is sealed for Hartwell and shown once, to Alice; it is nowhere else in plain: not in
the stored result, the audit chain or its export, the investigation's steps or evidence bundle, the reply, what a
model is given, nor the logs."""

from __future__ import annotations

import hashlib
import json
import logging
from typing import Any
from uuid import uuid4

import pytest

from apps.agent.context import outcome_of
from apps.agent.contracts import Citation
from apps.agent.investigations import save_settings
from apps.agent.models import Investigation
from apps.auditlog.models import AuditEvent
from apps.connectors.models import Connector
from apps.core.secrets import SecretError, unseal_json
from apps.safety import enforcement
from apps.safety.models import ActionStatus, ToolAction
from apps.tickets import services as tickets
from apps.tickets.models import Message
from sandbox.msgraph import GraphSandbox
from tests.agent.eval_world import email_into
from tests.playbooks.test_m365_playbooks import graph, m365  # noqa: F401 (fixtures: the Graph stand-in, connector)

PASS = "spf=pass smtp.mailfrom=hartwelllaw.com dkim=pass header.d=hartwelllaw.com dmarc=pass"
FORGOT = "Hi, I forgot my password over the weekend and now I can't log in to my email. Can you help? Sam"


def _reset_approved_and_run(client: Any, as_user: Any) -> tuple[Investigation, ToolAction]:
    save_settings(changes={"auto_investigate": False}, actor=None)
    source = tickets.create_source(client=client, kind="webhook", name=f"Inbox {uuid4().hex[:6]}", config={})
    done: Investigation = email_into(
        source, sender="Sam Ortiz <sam.ortiz@hartwelllaw.com>", subject="Forgot my password", body=FORGOT, auth=PASS
    )
    held = ToolAction.objects.get(tool_name="reset_password", status=ActionStatus.AWAITING_APPROVAL)
    approved = as_user("alice", "hartwell").post(f"/approvals/{held.pk}/approve/", {"note": "called Sam back"})
    assert approved.status_code in {200, 302}
    assert enforcement.run_approved(str(held.pk))  # what the worker's safety.execute_approved does
    held.refresh_from_db()
    assert held.status == ActionStatus.DONE, held.result_text
    return done, held


def _password(client: Any, graph: GraphSandbox, action: ToolAction) -> str:  # noqa: F811
    """The password Graph was given, read from the sealed value and checked against what the stand-in received."""
    opened = unseal_json(client, action.sealed_secrets, purpose=f"tool-action:{action.pk}")
    password = opened["temporary_password"]
    (reset,) = [a for a in graph.actions if a["action"] == "passwordReset"]
    assert reset["sha256"] == hashlib.sha256(password.encode()).hexdigest()
    return str(password)


def test_the_temporary_password_is_sealed_and_in_plain_nowhere(
    in_hartwell: Any,
    m365: Connector,  # noqa: F811
    graph: GraphSandbox,  # noqa: F811
    as_user: Any,
    caplog: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture[str],
) -> None:
    caplog.set_level(logging.DEBUG)
    done, action = _reset_approved_and_run(in_hartwell, as_user)
    password = _password(in_hartwell, graph, action)
    assert len(password) == 16
    places = {
        "stored result": action.result_text,
        "audit chain": json.dumps([e.payload for e in AuditEvent.objects.all()]),
        "audit export": b"".join(as_user("alice", "hartwell").get("/audit/export.jsonl").streaming_content).decode(),
        "investigation steps": json.dumps([s.data for s in done.steps.all()] + [s.detail for s in done.steps.all()]),
        "evidence bundle": as_user("alice", "hartwell")
        .get(f"/investigations/{done.pk}/evidence.json")
        .content.decode(),
        "reply and summary": done.reply + done.summary + done.escalation_reason,
        "ticket messages": json.dumps(list(Message.objects.values_list("body", flat=True))),
        "what a model is given": outcome_of(action, Citation(kind="tool", ref=str(action.pk), label="reset")).text,
        "approvals page": as_user("alice", "hartwell").get("/approvals/").content.decode(),
        "logs": caplog.text + "".join(capfd.readouterr()),  # the MCP server subprocess's output too
    }
    leaked = [where for where, text in places.items() if password in text]
    assert leaked == [], leaked
    assert "temporary_password" in places["what a model is given"]  # it knows one was made, not what it is
    result = json.loads(action.result_text)  # the rest of the result is kept, readable
    assert result["force_change_at_next_sign_in"] and result["sessions_revoked"] and result["done"]
    assert result["temporary_password"] == "[sealed: shown once to the approver]"


def test_the_approver_sees_it_once_and_nobody_else(
    in_hartwell: Any,
    m365: Connector,  # noqa: F811
    graph: GraphSandbox,  # noqa: F811
    as_user: Any,
) -> None:
    _, action = _reset_approved_and_run(in_hartwell, as_user)
    password = _password(in_hartwell, graph, action)
    page = as_user("alice", "hartwell").get("/approvals/").content.decode()
    assert f'data-testid="reveal-{action.pk}"' in page
    assert as_user("bob", "hartwell").post(f"/approvals/{action.pk}/secret/").status_code == 403  # not the approver
    assert as_user("carol", "dearborn").post(f"/approvals/{action.pk}/secret/").status_code == 404
    from django.db import connection

    connection.set_tenant(in_hartwell)
    shown = as_user("alice", "hartwell").post(f"/approvals/{action.pk}/secret/")
    assert shown.status_code == 200 and password in shown.content.decode()
    assert "no-store" in shown["Cache-Control"]
    again = as_user("alice", "hartwell").post(f"/approvals/{action.pk}/secret/")
    assert again.status_code == 410 and password not in again.content.decode()
    assert "already shown" in again.content.decode()
    action.refresh_from_db()
    assert action.sealed_secrets == "" and action.secrets_revealed_at is not None
    with pytest.raises(SecretError):
        unseal_json(in_hartwell, action.sealed_secrets, purpose=f"tool-action:{action.pk}")
    (revealed,) = AuditEvent.objects.filter(event="tool.secret_revealed")
    assert revealed.payload["keys"] == ["temporary_password"] and password not in json.dumps(revealed.payload)


def test_a_secret_nobody_looked_at_is_erased_after_the_approval_time(
    in_hartwell: Any,
    m365: Connector,  # noqa: F811
    as_user: Any,
) -> None:
    from datetime import timedelta

    from django.utils import timezone

    from apps.safety.tasks import expire_approvals

    _, action = _reset_approved_and_run(in_hartwell, as_user)
    expire_approvals()  # within the approval time: kept
    action.refresh_from_db()
    assert action.sealed_secrets
    ToolAction.objects.filter(pk=action.pk).update(executed_at=timezone.now() - timedelta(hours=25))
    expire_approvals()
    action.refresh_from_db()
    assert action.sealed_secrets == "" and action.secrets_revealed_at is None
    assert AuditEvent.objects.filter(event="tool.secret_expired", payload__action=str(action.pk)).exists()
    gone = as_user("alice", "hartwell").post(f"/approvals/{action.pk}/secret/")
    assert gone.status_code == 410 and "no longer kept" in gone.content.decode()
