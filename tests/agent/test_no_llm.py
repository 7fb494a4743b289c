"""No-LLM mode: a confident knowledge answer (cited, in the client's tone) or an escalation; the propose flow."""

from __future__ import annotations

from typing import Any

import pytest

from apps.agent.investigations import InvestigationError, apply_reply, discard_reply
from apps.agent.models import ReplyState
from apps.tickets.models import DeliveryState, MessageKind
from tests.agent.helpers import investigate

pytestmark = pytest.mark.django_db
VPN = {"title": "VPN password", "body": "How do I reset my VPN password? I forgot it."}


def test_a_confident_knowledge_answer_is_drafted_then_applied_once(
    make_ticket: Any, knowledge: Any, in_hartwell: Any, people: dict[str, Any]
) -> None:
    in_hartwell.autonomy = "review"  # propose: an operator applies the reply
    investigation = investigate(make_ticket(**VPN))
    assert (investigation.verdict, investigation.decided_by) == ("auto_resolved", "knowledge")
    assert investigation.confidence >= 0.6 and investigation.citations[0]["kind"] == "knowledge"
    assert investigation.reply.startswith("Hi Dana,\n\nThanks for reaching out!")  # friendly is the default tone
    assert "self-service" in investigation.reply and "Source: VPN runbook" in investigation.reply
    assert investigation.reply_state == ReplyState.DRAFTED and investigation.ticket.messages.count() == 1
    applied = apply_reply(investigation=investigation, actor=people["bob"], body=investigation.reply + "\nBob")
    assert applied.reply_state == ReplyState.APPLIED and applied.reply.endswith("Bob")
    message = investigation.ticket.messages.get(pk=applied.reply_message_id)
    assert (message.kind, message.author_user_id, message.delivery_state) == (
        MessageKind.PUBLIC_REPLY,
        people["bob"].pk,
        DeliveryState.NONE,  # webhook sources keep replies in Gaby; email queues them
    )
    applied.ticket.refresh_from_db()
    assert applied.ticket.status == "solved"
    with pytest.raises(InvestigationError, match="applied by an operator: nothing to apply"):
        apply_reply(investigation=investigation, actor=people["bob"])
    with pytest.raises(InvestigationError, match="nothing to discard"):
        discard_reply(investigation=investigation, actor=people["bob"])


def test_below_the_threshold_it_escalates(make_ticket: Any, knowledge: Any, in_hartwell: Any) -> None:
    from apps.agent.runtime import settings_for

    agent_settings = settings_for()
    agent_settings.tone = "formal"
    agent_settings.save()
    investigation = investigate(
        make_ticket(title="Strange noise", body="How can the coffee machine on floor 2 hum so loudly?")
    )
    assert investigation.verdict == "needs_l2" and investigation.decided_by == "knowledge"
    assert "No knowledge passage is confident enough" in investigation.escalation_reason
    assert investigation.reply == "" and investigation.reply_state == ReplyState.NONE
    note = investigation.ticket.messages.get(kind=MessageKind.INTERNAL_NOTE)
    assert "Why: No knowledge passage" in note.body and note.attachments.count() == 1


def test_tone_follows_the_clients_setting(make_ticket: Any, knowledge: Any, in_hartwell: Any) -> None:
    from apps.agent.runtime import settings_for

    agent_settings = settings_for()
    agent_settings.tone = "formal"
    agent_settings.save()
    investigation = investigate(make_ticket(**VPN))
    assert investigation.tone == "formal" and investigation.reply.startswith("Dear Dana,")
    assert investigation.reply_state == ReplyState.NOTED  # Hartwell investigates only: an internal note


@pytest.mark.parametrize(
    ("title", "body"),
    [
        ("VPN Passwort", "Wie kann ich mein VPN Passwort zurücksetzen? Ich habe es vergessen."),
        ("Mot de passe VPN", "Comment réinitialiser mon mot de passe VPN ? Je l'ai oublié."),
        ("Contraseña VPN", "¿Cómo puedo restablecer mi contraseña del VPN? La olvidé."),
    ],
)
def test_a_question_in_german_french_or_spanish_is_answered_from_the_english_runbook(
    make_ticket: Any, knowledge: Any, in_hartwell: Any, title: str, body: str
) -> None:
    investigation = investigate(make_ticket(title=title, body=body))
    assert (investigation.verdict, investigation.decided_by) == ("auto_resolved", "knowledge")
    assert investigation.citations[0]["label"].startswith("VPN runbook") and "self-service" in investigation.reply
    queries = [s.data["query"] for s in investigation.steps.filter(title__startswith="Searched knowledge")]
    assert any("password" in q and "reset" in q for q in queries), queries  # searched by its English gloss


def test_each_question_of_a_ticket_gets_its_own_cited_answer_or_the_ticket_escalates(
    make_ticket: Any, knowledge: Any, in_hartwell: Any
) -> None:
    two = investigate(
        make_ticket(
            title="Two things",
            body=(
                "How do I reset my VPN password for the tunnel? "
                "And which plan does a customer get 1 TB of storage on, free or pro?"
            ),
        )
    )
    assert (two.verdict, two.decided_by) == ("auto_resolved", "knowledge"), two.summary
    assert [c["label"].split(" ")[0] for c in two.citations] == ["VPN", "Billing"]
    assert "You asked 2 things" in two.reply and two.reply.count("Source: ") == 2
    unanswered = investigate(
        make_ticket(
            title="Two things",
            body=(
                "How do I reset my VPN password for the tunnel? "
                "And how can the coffee machine on floor 2 hum so loudly every morning?"
            ),
        )
    )
    assert unanswered.verdict == "needs_l2" and "coffee machine" in unanswered.escalation_reason
