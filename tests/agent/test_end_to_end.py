"""End to end, as an operator would see it: an email arrives over real IMAP, becomes a ticket, is investigated
on a running Celery worker (knowledge + the PostgreSQL connector, with the scripted LLM or with no LLM at all),
and the reply goes out over real SMTP — once.

The scenarios run outside the test's transaction (``run_committed``): the worker sees only committed rows.
"""

from __future__ import annotations

import json
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest

from tests.agent.committed import CommittedHartwell, run_committed, wait_for
from tests.agent.helpers import classify, route_all, verdict
from tests.llm_server import Reply, ScriptedLLM

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _auto_investigate(settings: Any, tmp_path: Path) -> None:
    settings.AGENT_AUTO_INVESTIGATE = True
    settings.MEDIA_ROOT = tmp_path / "media"


def _mailbox(state: CommittedHartwell, imap: Any, smtp: Any) -> Any:
    from apps.tickets import services

    controller, _ = smtp
    config = imap.config() | {
        "smtp_host": controller.hostname,
        "smtp_port": controller.port,
        "smtp_security": "none",
        "from_address": "Hartwell Support <support@hartwell.example>",
    }
    return services.create_source(client=state.client, kind="email", name="Support mailbox", config=config)


def _email(subject: str, body: str) -> EmailMessage:
    mail = EmailMessage()
    mail["From"] = "Dana Reyes <user2@example.com>"
    mail["To"] = "support@hartwell.example"
    mail["Subject"] = subject
    mail["Message-ID"] = "<question@client.example>"
    mail.set_content(body)
    return mail


def _receive(source: Any, imap: Any, mail: EmailMessage) -> Any:
    """The email arrives and is polled: the new ticket is investigated by itself (auto-investigate)."""
    from apps.agent.models import Investigation
    from apps.tickets import polling
    from apps.tickets.models import Ticket, TicketSource

    imap.deliver(mail)
    TicketSource.objects.filter(pk=source.pk).update(next_poll_at=None)
    assert polling.poll(source.pk).created == 1
    ticket = Ticket.objects.get()
    return wait_for(
        lambda: Investigation.objects.filter(ticket=ticket, status__in=["done", "failed"]).first(),
        what="the investigation to finish on the worker",
    )


def _mail(smtp: Any) -> Any:
    captured = smtp[1]
    wait_for(lambda: captured.messages, what="the reply over SMTP")
    return message_from_bytes(captured.messages[0]["data"], policy=policy.default)


def test_email_to_reply_with_the_llm_knowledge_and_postgres(
    world: Any,
    celery_worker: Any,
    sample_url: str,
    llm: ScriptedLLM,
    imap_server: Any,
    smtp_server: Any,
    tmp_path: Path,
) -> None:
    query = {"sql": "SELECT plan FROM customers WHERE email = $1", "params": ["[EMAIL_1]"]}
    llm.then(
        classify(),
        Reply("", tool_calls=[{"name": "Billing_DB__query", "arguments": query}]),
        Reply("DONE"),
        verdict(
            summary="user2 is on pro [T1]; pro includes priority support [K1].",
            reply="Hello Dana, your account is on the Pro plan, which includes priority support and 1 TB.",
            citations=["T1", "K1"],
            is_infra=False,
        ),
    )

    def scenario(state: CommittedHartwell) -> None:
        from apps.safety.models import ToolAction

        state.set_client(autonomy="auto")  # act: Gaby replies by itself
        state.knowledge(tmp_path / "kb")
        state.connector(sample_url)
        route_all(state.client, llm)
        source = _mailbox(state, imap_server, smtp_server)
        investigation = _receive(source, imap_server, _email("Which plan am I on?", "Which plan is my account on?"))
        assert (investigation.status, investigation.verdict, investigation.reply_state) == (
            "done",
            "auto_resolved",
            "sent",
        )
        action = ToolAction.objects.get()
        assert action.tool_name == "query" and action.arguments["params"] == ["user2@example.com"]
        assert json.loads(action.result_text)["rows"] == [["pro"]]
        assert {c["kind"] for c in investigation.citations} == {"tool", "knowledge"}
        mail = _mail(smtp_server)
        assert "Pro plan, which includes priority support" in mail.get_content()
        assert mail["In-Reply-To"] == "<question@client.example>"
        assert smtp_server[1].messages[0]["to"] == ["user2@example.com"]
        investigation.ticket.refresh_from_db()
        assert investigation.ticket.status == "solved" and len(smtp_server[1].messages) == 1

    run_committed(world, scenario)


def test_email_to_reply_with_no_llm_from_knowledge(
    world: Any, celery_worker: Any, imap_server: Any, smtp_server: Any, tmp_path: Path
) -> None:
    def scenario(state: CommittedHartwell) -> None:
        state.set_client(autonomy="auto")
        state.knowledge(tmp_path / "kb")
        source = _mailbox(state, imap_server, smtp_server)
        investigation = _receive(source, imap_server, _email("VPN password", "How do I reset my VPN password?"))
        assert (investigation.verdict, investigation.decided_by, investigation.reply_state) == (
            "auto_resolved",
            "knowledge",
            "sent",
        )
        body = _mail(smtp_server).get_content()
        assert "vpn.hartwell.example/self-service" in body and "Source: VPN runbook" in body
        assert len(smtp_server[1].messages) == 1

    run_committed(world, scenario)
