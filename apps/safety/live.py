"""Push the approval queue to every open page of the client (the shell's live channel)."""

from __future__ import annotations

from django.template.loader import render_to_string

from apps.core.live import broadcast, pages_open
from apps.safety.models import ActionStatus, ToolAction


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
    if pages_open():
        html = render_to_string("safety/approvals.html#queue", {**queue_context(), "live": True})
        broadcast([{"type": "swap", "target": "#approval-queue", "html": html}])
