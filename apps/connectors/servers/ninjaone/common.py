"""What the NinjaOne server's tool modules share: annotations, the error guard and the shapes of results."""

from __future__ import annotations

import datetime
from collections.abc import Callable
from typing import Any, TypeVar

from mcp.server.mcpserver.exceptions import ToolError
from mcp_types import ToolAnnotations

from apps.connectors.servers.rest import VendorError

T = TypeVar("T")
GB = 1024**3
READ = ToolAnnotations(read_only_hint=True, destructive_hint=False, idempotent_hint=True, open_world_hint=True)
# Writes Gaby may do on its own in act mode (below the client's approval threshold): they undo themselves or are
# undone by their inverse, and touch one service or alert of one device.
ADDITIVE = ToolAnnotations(read_only_hint=False, destructive_hint=False, idempotent_hint=False, open_world_hint=True)
# Writes whose effect a human should weigh: the safety gate scores destructive writes higher (apps/safety/policy.py),
# which puts them above the default approval threshold.
DESTRUCTIVE = ToolAnnotations(read_only_hint=False, destructive_hint=True, idempotent_hint=False, open_world_hint=True)


def when(seconds: Any) -> str | None:
    """NinjaOne timestamps are epoch seconds (with a fraction)."""
    if not isinstance(seconds, int | float) or seconds <= 0:
        return None
    return datetime.datetime.fromtimestamp(seconds, tz=datetime.UTC).isoformat(timespec="seconds")


def guard(call: Callable[[], T]) -> T:
    """Vendor failures become tool errors whose message says what happened and what to check."""
    try:
        return call()
    except VendorError as exc:
        raise ToolError(str(exc)) from None


def service_view(raw: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": raw.get("name"),
        "display_name": raw.get("displayName"),
        "state": raw.get("state"),
        "start_type": raw.get("startType"),
    }
