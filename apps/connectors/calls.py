"""What Gaby's MCP host is given and gives back, with no event loop or database in sight.

A ``ServerSpec`` says how to reach one server; the host answers with the ``ToolInfo`` the server lists and
the ``CallOutcome`` of a call (``render_content`` flattens an MCP result into its text), or raises one of
the errors below, worded for the admin who has to fix the connector. The host (host.py) and its sessions
(session.py) speak these; services.py turns connectors into specs and outcomes into events.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

import mcp_types


class ConnectorError(Exception):
    """A tool call or connection failed; the message is written for the admin who has to fix it."""


class ConnectorUnavailable(ConnectorError):
    """The server cannot be reached now (not started, exited, refused, backing off)."""


class ToolCallTimeout(ConnectorError):
    """The server did not answer within the connector's timeout."""


@dataclass(frozen=True)
class ServerSpec:
    """Everything needed to reach one MCP server; secrets included, so never log or render it."""

    label: str  # for logs and messages: "<schema>/<connector name>"
    transport: str  # "stdio" | "http"
    command: str = ""
    args: tuple[str, ...] = ()
    env: tuple[tuple[str, str], ...] = ()
    cwd: str | None = None
    url: str = ""
    headers: tuple[tuple[str, str], ...] = ()
    connect_timeout: float = 30.0
    call_timeout: float = 30.0
    max_concurrency: int = 4

    @property
    def key(self) -> str:
        """Pool key: a digest of the whole spec, so a configuration change opens a fresh session."""
        raw = json.dumps(
            [self.label, self.transport, self.command, self.args, self.env, self.cwd, self.url, self.headers]
        )
        return hashlib.sha256(raw.encode()).hexdigest()


@dataclass(frozen=True)
class ToolInfo:
    name: str
    title: str
    description: str
    input_schema: dict[str, Any]
    read_only_hint: bool | None
    destructive_hint: bool | None
    approval_required: bool = False  # the server's tool ``_meta`` says ``"gaby/approval": "always"``


# A tool's ``_meta`` key by which a server says its calls always wait for a person (wiping a device, running any
# script): the gate holds them whatever the risk threshold, unless one of the client's allow rules names the call.
APPROVAL_META_KEY = "gaby/approval"


@dataclass(frozen=True)
class CallOutcome:
    text: str
    structured: Any
    is_error: bool
    truncated: bool
    elapsed_ms: float


def tool_info(tool: mcp_types.Tool) -> ToolInfo:
    annotations = tool.annotations
    return ToolInfo(
        name=tool.name,
        title=(tool.title or (annotations.title if annotations else None) or ""),
        description=tool.description or "",
        input_schema=dict(tool.input_schema),
        read_only_hint=annotations.read_only_hint if annotations else None,
        destructive_hint=annotations.destructive_hint if annotations else None,
        approval_required=(tool.meta or {}).get(APPROVAL_META_KEY) == "always",
    )


def render_content(result: mcp_types.CallToolResult, *, max_chars: int) -> tuple[str, bool]:
    """Flatten a tool result to text for the investigation, capped at ``max_chars``."""
    parts: list[str] = []
    for block in result.content:
        if isinstance(block, mcp_types.TextContent):
            parts.append(block.text)
        elif isinstance(block, mcp_types.ImageContent | mcp_types.AudioContent):
            parts.append(f"[{block.type}: {block.mime_type}, {len(block.data) * 3 // 4} bytes]")
        elif isinstance(block, mcp_types.EmbeddedResource):
            resource = block.resource
            body = getattr(resource, "text", None)
            parts.append(body if body is not None else f"[resource {resource.uri}]")
        elif isinstance(block, mcp_types.ResourceLink):
            parts.append(f"[resource link {block.uri}]")
    if not parts and result.structured_content is not None:
        parts.append(json.dumps(result.structured_content, default=str))
    text = "\n".join(parts)
    if len(text) <= max_chars:
        return text, False
    return text[:max_chars] + f"\n[… truncated: {len(text) - max_chars} more characters]", True
