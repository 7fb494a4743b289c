"""The operator shell's live channel: one socket per open page, joined to its client's group.

The socket itself (it checks the user's membership) is ``apps.accounts.live.LiveConsumer``.
Capabilities (new tickets, investigation steps, approvals, knowledge progress, chat) ``broadcast`` swaps to
the current client's ``tenant_group(schema, "live")`` and the shell swaps the rendered partials in. They
render only ``if pages_open()``: with no page of the team open, a thousand chat messages or investigation
steps a minute would each render HTML nobody receives.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db import connection

from apps.core.channel_layer import has_listeners
from apps.core.channels import tenant_group
from apps.core.publisher import group_send


def _client_group() -> str:
    return tenant_group(str(connection.schema_name), "live")  # type: ignore[attr-defined]


def pages_open() -> bool:
    """Whether any page of the current client's team is open (True when it cannot tell)."""
    return has_listeners(_client_group())


def broadcast(payloads: Iterable[dict[str, Any]]) -> None:
    """Hand each payload to the current client's open pages, in order; never waits for Redis, never raises
    (a live update is a courtesy: the change is committed and a page shows it on reload)."""
    group = _client_group()
    for payload in payloads:
        group_send(group, {"type": "live.event", "payload": payload})
