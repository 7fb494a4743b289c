"""CON-1 with real servers: any MCP server, entered as a command or a URL, lists its tools and answers."""

from __future__ import annotations

import concurrent.futures
import time
from pathlib import Path
from typing import Any

import psutil
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.connectors import services
from apps.connectors.calls import ConnectorUnavailable
from apps.connectors.drafts import draft_of
from apps.connectors.host import host
from apps.connectors.models import Access, Connector, ConnectorEvent, EventKind, Kind, Status, Transport
from apps.connectors.specs import Draft
from tests.connectors.conftest import VENV_BIN, npm_server


def _stdio(name: str, command: str, *args: str, env: dict[str, str] | None = None) -> Draft:
    return Draft(kind=Kind.MCP_STDIO, name=name, command=command, args=list(args), env=env or {})


def _server_pids(fragment: str) -> list[int]:
    return [
        p.pid
        for p in psutil.Process().children(recursive=True)
        if fragment in " ".join(p.cmdline()) and p.status() != psutil.STATUS_ZOMBIE
    ]


def test_time_server_lists_tools_and_answers(in_hartwell: Any, people: dict[str, Any]) -> None:
    connector = services.connect(
        client=in_hartwell, draft=_stdio("Clock", str(VENV_BIN / "mcp-server-time")), actor=people["alice"]
    )
    tools = {tool.name: tool for tool in connector.tools.all()}
    assert set(tools) == {"get_current_time", "convert_time"}
    assert tools["get_current_time"].access == Access.READ and "timezone" in str(tools["get_current_time"].input_schema)
    assert connector.status == Status.HEALTHY
    consent = ConnectorEvent.objects.get(connector=connector, kind=EventKind.CONSENT)
    assert consent.actor_label == people["alice"].email and consent.actor == people["alice"]

    result = services.execute_tool_call(
        connector=connector, tool_name="get_current_time", arguments={"timezone": "Europe/Paris"}, actor=None
    )
    assert not result.is_error and result.structured["timezone"] == "Europe/Paris" and result.access == Access.READ

    bad = services.execute_tool_call(
        connector=connector, tool_name="get_current_time", arguments={"timezone": "Nowhere/Atlantis"}, actor=None
    )
    assert bad.is_error and "Invalid timezone" in bad.text


def test_arguments_are_validated_against_the_schema_before_sending(in_hartwell: Any, people: dict[str, Any]) -> None:
    connector = services.connect(
        client=in_hartwell, draft=_stdio("Clock", str(VENV_BIN / "mcp-server-time")), actor=people["alice"]
    )
    with pytest.raises(services.ToolCallRefused, match=r"Invalid arguments for get_current_time .*'timezone'"):
        services.execute_tool_call(connector=connector, tool_name="get_current_time", arguments={}, actor=people["bob"])
    with pytest.raises(services.ToolCallRefused, match="no tool with that name"):
        services.execute_tool_call(connector=connector, tool_name="rm_rf", arguments={}, actor=people["bob"])
    denials = ConnectorEvent.objects.filter(connector=connector, kind=EventKind.DENIAL)
    assert denials.count() == 2 and denials.filter(actor_label=people["bob"].email).count() == 2


def test_git_server_survives_being_killed(in_hartwell: Any, people: dict[str, Any], git_repo: Path) -> None:
    connector = services.connect(
        client=in_hartwell, draft=_stdio("Billing repo", str(VENV_BIN / "mcp-server-git")), actor=people["alice"]
    )
    access = dict(connector.tools.values_list("name", "access"))
    assert access["git_log"] == Access.READ and access["git_commit"] == Access.WRITE
    log = services.execute_tool_call(
        connector=connector, tool_name="git_log", arguments={"repo_path": str(git_repo)}, actor=None
    )
    assert "Handle Stripe webhooks" in log.text

    pids = _server_pids("mcp-server-git")
    assert len(pids) == 1
    psutil.Process(pids[0]).kill()
    time.sleep(0.3)
    # The pool notices the exit before sending, restarts the server and answers; the restart is logged.
    again = services.execute_tool_call(
        connector=connector, tool_name="git_status", arguments={"repo_path": str(git_repo)}, actor=None
    )
    assert "On branch main" in again.text
    assert _server_pids("mcp-server-git") != pids
    assert ConnectorEvent.objects.filter(
        connector=connector, kind=EventKind.HEALTH, summary__startswith="Server restarted"
    ).exists()


def test_a_server_that_cannot_start_says_why(in_hartwell: Any, people: dict[str, Any]) -> None:
    draft = _stdio("Broken", str(VENV_BIN / "mcp-server-time"), "--local-timezone", "Not/AZone")
    with pytest.raises(ConnectorUnavailable, match="closed the connection"):
        services.connect(client=in_hartwell, draft=draft, actor=people["alice"])
    assert not Connector.objects.filter(name="Broken").exists()


def test_client_admins_may_start_only_allow_listed_commands(in_hartwell: Any, people: dict[str, Any]) -> None:
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError, match="not on this install's list"):
        services.test_connection(
            client=in_hartwell, draft=_stdio("Shell", "/bin/sh", "-c", "id"), actor=people["alice"]
        )


def test_filesystem_sandbox_refusals_are_clear_errors(in_hartwell: Any, people: dict[str, Any], tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("VPN reset steps")
    draft = _stdio("Files", npm_server("mcp-server-filesystem"), str(tmp_path))
    connector = services.connect(client=in_hartwell, draft=draft, actor=people["alice"])
    access = dict(connector.tools.values_list("name", "access"))
    assert access["read_text_file"] == Access.READ and access["write_file"] == Access.WRITE
    ok = services.execute_tool_call(
        connector=connector, tool_name="read_text_file", arguments={"path": str(tmp_path / "notes.txt")}, actor=None
    )
    assert ok.text == "VPN reset steps"
    refused = services.execute_tool_call(
        connector=connector, tool_name="read_text_file", arguments={"path": "/etc/passwd"}, actor=None
    )
    assert refused.is_error and "Access denied - path outside allowed directories" in refused.text
    assert "root:" not in refused.text


def test_everything_over_streamable_http(in_hartwell: Any, people: dict[str, Any], everything_url: str) -> None:
    draft = Draft(kind=Kind.MCP_HTTP, name="Everything", transport=Transport.HTTP, url=everything_url)
    connector = services.connect(client=in_hartwell, draft=draft, actor=people["alice"])
    names = set(connector.tools.values_list("name", flat=True))
    assert {"echo", "get-sum"} <= names
    echo = services.execute_tool_call(connector=connector, tool_name="echo", arguments={"message": "hi"}, actor=None)
    assert echo.text == "Echo: hi"
    # Many investigations at once share the one pooled session (other threads cannot see this test's
    # uncommitted rows, so they call the host with the connector's spec, as services.execute_tool_call does).
    spec = services._spec(connector, in_hartwell)

    def add(n: int) -> str:
        return host().call_tool(spec, "get-sum", {"a": n, "b": 1}, max_chars=1000).text

    with concurrent.futures.ThreadPoolExecutor(max_workers=8) as pool:
        answers = list(pool.map(add, range(16)))
    assert all(str(n + 1) in text for n, text in enumerate(answers))


def test_results_are_capped(in_hartwell: Any, people: dict[str, Any], everything_url: str, settings: Any) -> None:
    settings.CONNECTOR_MAX_RESULT_CHARS = 1000
    draft = Draft(kind=Kind.MCP_HTTP, name="Everything", transport=Transport.HTTP, url=everything_url)
    connector = services.connect(client=in_hartwell, draft=draft, actor=people["alice"])
    big = services.execute_tool_call(
        connector=connector, tool_name="echo", arguments={"message": "x" * 5000}, actor=None
    )
    assert big.truncated and len(big.text) < 1100 and "truncated" in big.text


def test_secrets_are_sealed_at_rest(in_hartwell: Any, people: dict[str, Any]) -> None:
    draft = _stdio("Clock", str(VENV_BIN / "mcp-server-time"), env={"API_TOKEN": "tok-SUPER-secret-42"})
    connector = services.connect(client=in_hartwell, draft=draft, actor=people["alice"])
    with connection.cursor() as cursor:
        cursor.execute("SELECT row_to_json(c)::text FROM connectors_connector c WHERE id = %s", [connector.pk])
        (raw,) = cursor.fetchone()
        cursor.execute("SELECT string_agg(row_to_json(e)::text, '') FROM connectors_connectorevent e")
        (events,) = cursor.fetchone()
    assert "tok-SUPER-secret-42" not in raw and "tok-SUPER-secret-42" not in events
    assert connector.secret_keys == ["env:API_TOKEN"]
    assert draft_of(connector, in_hartwell).env == {"API_TOKEN": "tok-SUPER-secret-42"}


def test_health_check_marks_down_then_recovers(in_hartwell: Any, people: dict[str, Any], everything_url: str) -> None:
    draft = Draft(kind=Kind.MCP_HTTP, name="Everything", transport=Transport.HTTP, url=everything_url)
    connector = services.connect(client=in_hartwell, draft=draft, actor=people["alice"])
    assert services.check_health(connector=connector) == Status.HEALTHY
    Connector.objects.filter(pk=connector.pk).update(url="http://127.0.0.1:9/mcp")
    connector.refresh_from_db()
    assert services.check_health(connector=connector) == Status.DEGRADED
    connector.refresh_from_db()
    assert "could not reach http://127.0.0.1:9/mcp" in connector.last_error
    Connector.objects.filter(pk=connector.pk).update(url=everything_url)
    connector.refresh_from_db()
    assert services.check_health(connector=connector) == Status.HEALTHY
    summaries = list(
        ConnectorEvent.objects.filter(connector=connector, kind=EventKind.HEALTH).values_list("summary", flat=True)
    )
    assert any(s.startswith("Reconnecting") for s in summaries) and any(s.startswith("Healthy") for s in summaries)


def test_refreshing_tools_keeps_admin_choices_in_a_few_queries(in_hartwell: Any, people: dict[str, Any]) -> None:
    connector = services.connect(
        client=in_hartwell, draft=_stdio("Billing repo", str(VENV_BIN / "mcp-server-git")), actor=people["alice"]
    )
    listed = connector.tools.count()
    assert listed > 5
    connector.tools.filter(name="git_commit").update(enabled=False, scope="dry_run", description="stale")
    connector.tools.filter(name="git_log").update(name="git_log_renamed_away")
    with CaptureQueriesContext(connection) as captured:
        present = services.sync_tools(connector=connector)
    statements = [query["sql"] for query in captured.captured_queries if not query["sql"].startswith("SET search_path")]
    assert len(statements) <= 10, statements  # a fixed few, not a round trip per tool
    assert len(present) == listed
    commit = connector.tools.get(name="git_commit")
    assert not commit.enabled and commit.scope == "dry_run" and commit.description != "stale"
    assert not connector.tools.get(name="git_log_renamed_away").present
    assert connector.tools.get(name="git_log").present and connector.tools.get(name="git_log").access == Access.READ
