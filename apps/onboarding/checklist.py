"""The first-run checklist of a client (INST-5, FND-6): each step is checked off from real state, not from clicks.

A step is done when what it asks for exists (a ticket source, knowledge that was indexed, a chat widget) or, for
the two choices whose default is a valid answer (no LLM, Investigate autonomy), when an Admin confirmed it.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from apps.auditlog import audit
from apps.chat.models import Widget
from apps.chat.services import CHAT_SOURCE_NAME
from apps.knowledge.models import Document
from apps.llm.models import LLMProvider, ModelRoute
from apps.onboarding.client_templates.apply import checklist_steps as template_steps
from apps.onboarding.models import SetupChoices
from apps.tickets.models import SourceKind, TicketSource
from tenants.models import Client

CONFIRMABLE = ("model", "autonomy")
CONNECT_FORM = {"git_source": "code", "mcp_stdio": "mcp", "mcp_http": "mcp"}  # connector kind -> its Connect form


@dataclass(frozen=True)
class Step:
    key: str
    title: str
    done: bool
    state: str  # what is there now, in words
    url: str
    action: str
    confirmable: bool = False  # its default is a valid answer an Admin may keep


def _ticket_sources() -> int:
    return TicketSource.objects.exclude(kind=SourceKind.WEBHOOK, name=CHAT_SOURCE_NAME).count()


def steps(client: Client) -> list[Step]:
    choices = SetupChoices.objects.existing()
    confirmed = set(choices.confirmed if choices else [])
    sources = _ticket_sources()
    documents = Document.objects.count()
    providers = LLMProvider.objects.filter(enabled=True).count()
    routed = ModelRoute.objects.exists()
    widgets = Widget.objects.filter(enabled=True).count()
    autonomy = client.get_autonomy_display()
    return [
        Step(
            "tickets",
            "Connect where tickets come from",
            sources > 0,
            f"{sources} source{'s' if sources != 1 else ''} connected" if sources else "No mailbox or help desk yet.",
            reverse("tickets:sources"),
            "Connect a mailbox or help desk",
        ),
        Step(
            "knowledge",
            "Give Gaby knowledge to answer from",
            documents > 0,
            f"{documents} document{'s' if documents != 1 else ''} indexed" if documents else "Nothing indexed yet.",
            reverse("knowledge:index"),
            "Add runbooks, a folder, a site or a repository",
        ),
        Step(
            "model",
            "Choose a model, or work without one",
            (providers > 0 and routed) or "model" in confirmed,
            "A model answers and investigates."
            if providers and routed
            else (
                "No LLM, by choice: Gaby answers from knowledge and playbooks."
                if "model" in confirmed
                else "No model yet: Gaby answers from knowledge and playbooks only."
            ),
            reverse("llm:index"),
            "Add a model provider",
            confirmable=True,
        ),
        Step(
            "widget",
            "Put the chat widget on your site",
            widgets > 0,
            f"{widgets} widget{'s' if widgets != 1 else ''} ready" if widgets else "No widget yet.",
            reverse("chat:widgets"),
            "Create a widget and copy its snippet",
        ),
        Step(
            "autonomy",
            "Choose how far Gaby may act",
            client.autonomy != "investigate" or "autonomy" in confirmed,
            f"{autonomy}{', confirmed' if 'autonomy' in confirmed else ''}.",
            reverse("safety:settings"),
            "Review autonomy and approvals",
            confirmable=True,
        ),
        # The connectors the client's onboarding template asks for (MSP-8): done once one of that kind exists.
        *(
            Step(
                f"connect-{step.kind}",
                step.title,
                step.done,
                "Connected." if step.done else "Not connected yet: it needs this client's own credentials.",
                reverse("connectors:new", args=[CONNECT_FORM.get(step.kind, step.kind)]),
                "Connect it",
            )
            for step in template_steps(client)
        ),
    ]


def remaining(client: Client) -> int:
    return sum(not step.done for step in steps(client))


def hidden() -> bool:
    choices = SetupChoices.objects.existing()
    return bool(choices and choices.hidden_at)


@transaction.atomic
def confirm(*, key: str, actor: object) -> None:
    """An Admin keeps a step's default as their answer (no LLM, Investigate autonomy)."""
    if key not in CONFIRMABLE:
        raise ValueError(f"Only {', '.join(CONFIRMABLE)} can be confirmed as they are.")
    choices = SetupChoices.objects.select_for_update().get(pk=SetupChoices.objects.one().pk)
    if key not in choices.confirmed:
        choices.confirmed = [*choices.confirmed, key]
        choices.save(update_fields=["confirmed"])
        audit.record_by("setup.confirmed", actor, step=key)


@transaction.atomic
def hide(*, actor: object) -> None:
    choices = SetupChoices.objects.one()
    choices.hidden_at = timezone.now()
    choices.save(update_fields=["hidden_at"])
    audit.record_by("setup.hidden", actor)
