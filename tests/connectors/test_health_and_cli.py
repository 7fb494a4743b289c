"""CON-5 health task (claimed once per interval) and FND-3's `manage.py gaby connect`."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from apps.connectors import services, tasks
from apps.connectors.models import Connector, Kind, Status
from apps.connectors.specs import Draft
from tests.connectors.conftest import VENV_BIN


def test_health_task_claims_then_checks(in_hartwell: Any, people: dict[str, Any]) -> None:
    draft = Draft(kind=Kind.MCP_STDIO, name="Clock", command=str(VENV_BIN / "mcp-server-time"))
    connector = services.connect(client=in_hartwell, draft=draft, actor=people["alice"])
    assert tasks.check_connector(str(connector.pk)) is None  # just checked on connect: nothing to claim
    Connector.objects.filter(pk=connector.pk).update(last_health_at=timezone.now() - timedelta(hours=1), status="down")
    assert tasks.check_connector(str(connector.pk)) == Status.HEALTHY
    assert Connector.objects.get(pk=connector.pk).status == Status.HEALTHY
    assert tasks.check_connector("018f0000-0000-7000-8000-000000000000") is None  # gone: exits quietly


def test_cli_connects_postgres(hartwell: Any, sample_url: str) -> None:
    out = StringIO()
    call_command("gaby", "connect", "postgres", "--client", "hartwell", "--url", sample_url, stdout=out)
    text = out.getvalue()
    assert "Connected PostgreSQL to Hartwell Law: 3 tools" in text and "read  query" in text
    assert sample_url not in text


def test_cli_refuses_a_bad_url_and_an_unknown_client(hartwell: Any) -> None:
    with pytest.raises(CommandError, match="No client with slug 'nope'"):
        call_command("gaby", "connect", "postgres", "--client", "nope", "--url", "postgresql://x/y")
    with pytest.raises(CommandError, match=r"nothing was saved.*Cannot connect to PostgreSQL"):
        call_command(
            "gaby", "connect", "postgres", "--client", "hartwell", "--url", "postgresql://nobody@127.0.0.1:9/none"
        )
