"""A client's playbooks: save (validated), switch on or off, remove — each audited in the client's chain."""

from __future__ import annotations

from django.db import transaction

from apps.accounts.models import User
from apps.agent.playbooks.library import catalog
from apps.agent.playbooks.models import ClientPlaybook
from apps.agent.playbooks.parsing import parse
from apps.agent.playbooks.schema import Playbook
from apps.auditlog import audit
from apps.auditlog.models import ActorKind


def validate(*, yaml_text: str, source: str = "upload") -> Playbook:
    """The parsed playbook, or ``PlaybookInvalid`` listing every problem with its field."""
    return parse(yaml_text, source=source)


@transaction.atomic
def save_playbook(*, yaml_text: str, actor: User | None) -> ClientPlaybook:
    """Store the client's own playbook, or its override of the shipped one with the same name."""
    playbook = validate(yaml_text=yaml_text)
    row, created = ClientPlaybook.objects.update_or_create(
        name=playbook.name, defaults={"yaml": yaml_text, "updated_by": actor}
    )
    audit.record(
        event="playbook.saved",
        actor_kind=ActorKind.USER if actor else ActorKind.SYSTEM,
        actor_id=actor.pk if actor else "",
        payload={"playbook": playbook.name, "version": playbook.version, "created": created},
    )
    return row


@transaction.atomic
def set_enabled(*, name: str, enabled: bool, actor: User | None) -> ClientPlaybook:
    """Switch a playbook on or off for this client; for a shipped one this only records the switch."""
    if catalog().get(name) is None:
        raise LookupError(f"No playbook named {name!r}.")
    row, _ = ClientPlaybook.objects.update_or_create(name=name, defaults={"enabled": enabled, "updated_by": actor})
    audit.record(
        event="playbook.enabled" if enabled else "playbook.disabled",
        actor_kind=ActorKind.USER if actor else ActorKind.SYSTEM,
        actor_id=actor.pk if actor else "",
        payload={"playbook": name},
    )
    return row


@transaction.atomic
def remove_playbook(*, row: ClientPlaybook, actor: User | None) -> None:
    """Delete the client's own playbook or override (the shipped one, if any, applies again)."""
    audit.record(
        event="playbook.removed",
        actor_kind=ActorKind.USER if actor else ActorKind.SYSTEM,
        actor_id=actor.pk if actor else "",
        payload={"playbook": row.name},
    )
    row.delete()
