"""Push the approval queue to every open page of the client (the shell's live channel)."""

from __future__ import annotations

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import connection
from django.template.loader import render_to_string

from apps.safety.models import ActionStatus, ToolAction
from tenants.channels import tenant_group


def queue_context() -> dict[str, object]:
    return {
        "waiting": list(
            ToolAction.objects.filter(status=ActionStatus.AWAITING_APPROVAL)
            .select_related("connector")
            .prefetch_related("notices")
            .order_by("created_at")
        ),
    }


def announce_queue_change(action: ToolAction) -> None:
    html = render_to_string("safety/approvals.html#queue", {**queue_context(), "live": True})
    schema = getattr(connection, "schema_name", "")
    async_to_sync(get_channel_layer().group_send)(
        tenant_group(schema, "live"),
        {"type": "live.event", "payload": {"type": "swap", "target": "#approval-queue", "html": html}},
    )
