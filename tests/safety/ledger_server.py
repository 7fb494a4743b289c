"""A tiny MCP server for the safety tests: a ledger of account balances in a JSON file.

Reads: ``balance``. Writes: ``credit`` and ``debit`` (each supports ``dry_run`` and declares its
inverse as ``gaby_inverse``), ``purge`` (destructive, no dry run). Run: ``python ledger_server.py``
with ``LEDGER_FILE`` naming the state file.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from mcp.server.mcpserver import MCPServer
from mcp_types import ToolAnnotations

STATE = Path(os.environ["LEDGER_FILE"])
READ = ToolAnnotations(read_only_hint=True)
WRITE = ToolAnnotations(read_only_hint=False, destructive_hint=False)
DESTRUCTIVE = ToolAnnotations(read_only_hint=False, destructive_hint=True)

server = MCPServer(name="ledger", version="1.0")


def _load() -> dict[str, int]:
    return json.loads(STATE.read_text()) if STATE.exists() else {}


def _move(account: str, amount: int, dry_run: bool, inverse_tool: str) -> dict[str, Any]:
    balances = _load()
    before = balances.get(account, 0)
    after = before + amount
    if dry_run:
        return {"dry_run": True, "account": account, "before": before, "would_be": after}
    balances[account] = after
    STATE.write_text(json.dumps(balances))
    inverse = {"tool": inverse_tool, "arguments": {"account": account, "amount": abs(amount)}}
    return {"account": account, "before": before, "after": after, "gaby_inverse": inverse}


@server.tool(annotations=READ)
def balance(account: str) -> dict[str, Any]:
    """The balance of one account."""
    return {"account": account, "balance": _load().get(account, 0)}


@server.tool(annotations=WRITE)
def credit(account: str, amount: int, dry_run: bool = True) -> dict[str, Any]:
    """Add to an account. A dry run by default."""
    return _move(account, amount, dry_run, "debit")


@server.tool(annotations=WRITE)
def debit(account: str, amount: int, dry_run: bool = True) -> dict[str, Any]:
    """Take from an account. A dry run by default."""
    return _move(account, -amount, dry_run, "credit")


@server.tool(annotations=DESTRUCTIVE)
def purge(account: str) -> dict[str, Any]:
    """Delete an account."""
    balances = _load()
    balances.pop(account, None)
    STATE.write_text(json.dumps(balances))
    return {"purged": account}


if __name__ == "__main__":
    server.run("stdio")
