from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from apps.connectors import services
from apps.connectors.models import Connector, Kind
from apps.connectors.specs import Draft

LEDGER = Path(__file__).with_name("ledger_server.py")


@pytest.fixture
def ledger_file(tmp_path: Path) -> Path:
    path = tmp_path / "ledger.json"
    path.write_text(json.dumps({"acme": 100}))
    return path


@pytest.fixture
def ledger(in_hartwell: Any, people: dict[str, Any], ledger_file: Path) -> Callable[..., Connector]:
    """``ledger(scope=..., autonomy=..., production=...)`` → a connected ledger MCP server with those settings."""

    def make(**settings: Any) -> Connector:
        connector = Connector.objects.filter(name="Ledger").first()
        if connector is None:
            draft = Draft(
                kind=Kind.MCP_STDIO,
                name="Ledger",
                command=sys.executable,
                args=[str(LEDGER)],
                env={"LEDGER_FILE": str(ledger_file)},
            )
            connector = services.connect(client=in_hartwell, draft=draft, actor=people["mona"], operator=True)
        fields = {"scope": "read_write", "autonomy": "act", "is_production": False, **settings}
        Connector.objects.filter(pk=connector.pk).update(**fields)
        connector.refresh_from_db()
        return connector

    return make


def balances(path: Path) -> dict[str, int]:
    return json.loads(path.read_text())  # type: ignore[no-any-return]
