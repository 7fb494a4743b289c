"""Hello, connector: a complete Gaby connector in one file — an MCP server with a read and a write tool.

It keeps a tiny status board (service -> status) in a JSON file. Run it as Gaby would, over stdio:

    HELLO_BOARD=/tmp/board.json python examples/hello_connector.py

Check it against the connector contract (docs/connectors/authoring.md):

    python -m apps.connectors.contract --sample 'set_status={"service": "api", "status": "degraded"}' \
        -- python examples/hello_connector.py
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp_types import ToolAnnotations

# Declare what each tool does: Gaby lets reads run freely and puts writes behind its safety gate.
READ = ToolAnnotations(read_only_hint=True, destructive_hint=False)
WRITE = ToolAnnotations(read_only_hint=False, destructive_hint=False, idempotent_hint=True)
STATUSES = ("operational", "degraded", "down")

server = MCPServer(name="hello-status-board", instructions="A team's service status board.")


def board_file() -> Path:
    return Path(os.environ.get("HELLO_BOARD", Path.home() / ".hello-status-board.json"))


def load_board() -> dict[str, str]:
    path = board_file()
    return json.loads(path.read_text()) if path.exists() else {"api": "operational", "billing": "operational"}


@server.tool(annotations=READ)
def get_status(service: str = "") -> str:
    """The status of one service, or of every service when none is named."""
    board = load_board()
    if not service:
        return "\n".join(f"{name}: {status}" for name, status in sorted(board.items()))
    if service not in board:
        raise ToolError(f"No service named {service!r}; known: {', '.join(sorted(board))}.")
    return f"{service}: {board[service]}"


@server.tool(annotations=WRITE)
def set_status(service: str, status: str, dry_run: bool = True) -> str:
    """Set a service's status. A dry run (the default) says what would change and changes nothing."""
    if status not in STATUSES:
        raise ToolError(f"status must be one of {', '.join(STATUSES)}.")
    board = load_board()
    before = board.get(service, "(none)")
    if dry_run:
        return f"Dry run: {service} would go from {before} to {status}. Nothing was changed."
    board[service] = status
    board_file().write_text(json.dumps(board, indent=2))
    return f"{service} went from {before} to {status}."


if __name__ == "__main__":
    server.run("stdio")
