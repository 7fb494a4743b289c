"""What every tool of the Microsoft 365 server shares: annotations, turning Graph failures into tool errors, and
the dry-run-or-send step of a write.

Each write is a dry run unless ``dry_run`` is false: the dry run returns the exact Graph request the SDK would
send (method, URL, JSON body — a new password masked), a risk estimate and what blocks it; the real run sends
that request and, where one exists, declares its inverse as ``gaby_inverse``. The risk here is the connector's
own estimate, shown to the person approving; whether a call runs, waits for approval or is refused is decided
by Gaby's safety gate (apps/safety) from the tool's annotations: destructive tools score higher there and wait
for approval at a client's default threshold.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from kiota_abstractions.request_information import RequestInformation
from mcp.server.mcpserver.exceptions import ToolError
from mcp_types import ToolAnnotations

from apps.connectors.servers.microsoft365.client import Graph, GraphFailure

T = TypeVar("T")
READ = ToolAnnotations(read_only_hint=True, destructive_hint=False, idempotent_hint=True, open_world_hint=True)
ADDITIVE = ToolAnnotations(read_only_hint=False, destructive_hint=False, idempotent_hint=True, open_world_hint=True)
DESTRUCTIVE = ToolAnnotations(read_only_hint=False, destructive_hint=True, idempotent_hint=True, open_world_hint=True)


async def guard(call: Callable[[], Awaitable[T]]) -> T:
    """Graph failures become tool errors whose message says what happened and what to check."""
    try:
        return await call()
    except GraphFailure as exc:
        raise ToolError(str(exc)) from None


def risk(score: int, why: str) -> dict[str, Any]:
    level = "high" if score >= 70 else "medium" if score >= 40 else "low"
    return {"score": score, "level": level, "why": why}


async def apply(
    graph: Graph,
    requests: list[RequestInformation],
    send: Callable[[], Awaitable[Any]],
    *,
    dry_run: bool,
    estimate: dict[str, Any],
    outcome: dict[str, Any],
    permission: str,
    blocked_by: list[str] | None = None,
    inverse: dict[str, Any] | None = None,
    hide: tuple[str, ...] = (),
) -> dict[str, Any]:
    shown = [graph.describe(info, hide=hide) for info in requests]
    if dry_run:
        return {
            "dry_run": True,
            "would_change": bool(requests) and not blocked_by,
            "blocked_by": blocked_by or [],
            "requests": shown,
            "risk": estimate,
            # What undoes it, shown before it is approved (the real run declares it as gaby_inverse).
            "inverse": inverse if requests else None,
            **outcome,
        }
    if blocked_by:
        raise ToolError(f"Not done: {'; '.join(blocked_by)}.")
    if requests:
        await graph.call(send, permission=permission)
    result = {"dry_run": False, "done": bool(requests), "requests": shown, **outcome}
    if inverse and requests:
        result["gaby_inverse"] = inverse
    return result
