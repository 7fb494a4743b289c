"""What a client Admin's surface page does to its install, whichever platform: save the listened channels and who
may ask (audited), or remove it (the route dropped, audited). The Teams page uses it; the Slack page does the same."""

from __future__ import annotations

from typing import Any

from apps.auditlog.audit import record
from apps.auditlog.models import ActorKind
from apps.chat.models import ChatSurfaceInstall
from apps.chat.surfaces import routing


def save(*, row: ChatSurfaceInstall, cleaned: dict[str, Any], actor: Any) -> None:
    row.channels = cleaned["channels"]
    row.access = cleaned["access"]
    row.allowed = cleaned["allowed"]
    row.enabled = cleaned["enabled"]
    row.save(update_fields=["channels", "access", "allowed", "enabled"])
    record(
        event=f"chat.{row.kind}_settings_saved",
        actor_kind=ActorKind.USER,
        actor_id=actor.pk,
        payload={"workspace": row.workspace_id, "channels": row.channels, "access": row.access},
    )


def remove(*, client: Any, row: ChatSurfaceInstall, actor: Any) -> None:
    routing.uninstall(client=client, install_row=row)
    record(
        event=f"chat.{row.kind}_removed",
        actor_kind=ActorKind.USER,
        actor_id=actor.pk,
        payload={"workspace": row.workspace_id},
    )
