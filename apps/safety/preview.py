""" "What would happen to this tool call?" — the pure policy run on settings that are not saved yet."""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

from apps.connectors.models import Connector, ConnectorTool
from apps.safety.classification import Classification, classify
from apps.safety.enforcement import CallContext, build_action, client_rules
from apps.safety.policy import Decision, decide
from apps.tickets.models import TicketSource
from tenants.models import Client


@dataclass(frozen=True)
class Preview:
    decision: Decision
    classification: Classification
    tool_known: bool


def preview_decision(
    *,
    client: Client,
    autonomy: str,
    approval_threshold: int,
    connector: Connector,
    tool_name: str,
    arguments: dict[str, Any],
    source: TicketSource | None,
) -> Preview:
    """Decide as ``run_tool`` would with the form's values; nothing is recorded or sent."""
    proposed = copy.copy(client)  # never saved: only the fields decide() reads are changed
    proposed.autonomy, proposed.approval_threshold = autonomy, approval_threshold
    tool = ConnectorTool.objects.filter(connector=connector, name=tool_name, present=True).first()
    context = CallContext(idempotency_key="preview", source=source)
    action = build_action(proposed, connector, tool, tool_name, arguments, context)
    return Preview(decide(action, client_rules()), classify(connector, tool), tool is not None)
