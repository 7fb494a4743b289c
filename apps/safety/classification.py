"""Is a tool a read or a write, and who said so? (CON-3)

The enforcement point and the scope editor read the same answer from here. In order of trust:

* **declaration** — the connector's own code declared it: Gaby's built-in connectors (their annotations are
  written in this repository), or a connector that stored ``access=read`` without an MCP annotation saying so;
* **MCP annotation** — a third-party server's ``readOnlyHint`` (``true``: read, ``false``: write);
* **unknown** — no annotation and no declaration: the tool counts as a write (fail safe), and a tool the server
  never listed is unknown too.
"""

from __future__ import annotations

from dataclasses import dataclass

from apps.connectors.models import Access, Connector, ConnectorTool, Kind
from apps.safety.policy import ToolClass

# Connectors whose MCP server ships with Gaby: their read/write annotations are part of our own code.
FIRST_PARTY_KINDS = frozenset({Kind.POSTGRES, Kind.GIT_SOURCE})


class Origin:
    DECLARATION = "declaration"
    ANNOTATION = "annotation"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class Classification:
    tool_class: ToolClass
    origin: str
    explanation: str

    @property
    def label(self) -> str:
        return "read" if self.tool_class is ToolClass.READ else "write"


def classify(connector: Connector, tool: ConnectorTool | None) -> Classification:
    found = _classify(connector, tool)
    if tool is not None and tool.approval_required:
        why = f"{found.explanation} Every call waits for a person unless an allow rule names it (the server says so)."
        return Classification(found.tool_class, found.origin, why)
    return found


def _classify(connector: Connector, tool: ConnectorTool | None) -> Classification:
    if tool is None:
        return Classification(ToolClass.UNKNOWN, Origin.UNKNOWN, "Not listed by the server: counts as a write.")
    if connector.kind in FIRST_PARTY_KINDS:
        tool_class = ToolClass.READ if tool.read_only_hint is True else ToolClass.WRITE
        declared = f"Declared by Gaby's built-in {connector.get_kind_display()} connector."
        return Classification(tool_class, Origin.DECLARATION, declared)
    if tool.access == Access.READ and tool.read_only_hint is not True:
        return Classification(ToolClass.READ, Origin.DECLARATION, "Declared read by the connector's definition.")
    if tool.read_only_hint is True:
        return Classification(ToolClass.READ, Origin.ANNOTATION, "MCP annotation readOnlyHint: true.")
    if tool.read_only_hint is False:
        destructive = " (destructiveHint: true)" if tool.destructive_hint else ""
        return Classification(ToolClass.WRITE, Origin.ANNOTATION, f"MCP annotation readOnlyHint: false{destructive}.")
    return Classification(ToolClass.UNKNOWN, Origin.UNKNOWN, "No readOnlyHint from the server: counts as a write.")
