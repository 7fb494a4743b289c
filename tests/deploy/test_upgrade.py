"""``gaby upgrade`` on the real PostgreSQL with two client schemas: it applies what each schema lacks with progress,
a second run applies nothing, and each connector's tools are checked live against the playbooks and rules naming
them (a real MCP server, mcp-server-time, and one that cannot start)."""

from __future__ import annotations

import re
import sys
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from apps.agent.playbooks.models import ClientPlaybook
from apps.connectors import services
from apps.connectors.models import Kind
from apps.connectors.specs import Draft
from apps.safety.models import RuleEffect, SafetyRule
from tenants.schema_migrations import recorded
from tests.deploy.migration_counts import applied, summary, tickets_after

VENV_BIN = Path(sys.executable).parent
CLOCK_PLAYBOOK = """
name: clock-check
version: 1
description: Tell the customer the time in their zone.
intent:
  - What time is it where you are?
steps:
  - id: now
    connector: Clock
    tool: get_current_time
    args: {timezone: UTC}
    purpose: Read the time
  - id: offset
    connector: Clock
    tool: get_timezone_offset
    args: {timezone: UTC}
    purpose: Read the offset (a tool this server does not have, as if an upgrade had dropped it)
replies:
  resolved:
    default: "It is {{ steps.now.text }}."
"""


def upgrade(*args: str) -> str:
    out = StringIO()
    call_command("gaby", "upgrade", *args, stdout=out)
    connection.set_schema_to_public()
    return out.getvalue()


def roll_back(schema: str, app: str, to: str) -> None:
    call_command("migrate_schemas", app, to, schema_name=schema, interactive=False, verbosity=0)
    connection.set_schema_to_public()


def test_upgrade_applies_what_each_schema_lacks_then_nothing(hartwell: Any, dearborn: Any) -> None:
    roll_back(hartwell.schema_name, "tickets", "0005_ticketpush_attachment_error_attachment_external_id_and_more")
    roll_back(dearborn.schema_name, "tickets", "0006_ticket_requester_authentication")
    assert ("tickets", "0007_saved_views") not in recorded("default", hartwell.schema_name)

    first = upgrade("--skip-connectors")
    assert "public schema: up to date" in first
    on_hartwell = tickets_after("0005_ticketpush_attachment_error_attachment_external_id_and_more")
    on_dearborn = tickets_after("0006_ticket_requester_authentication")
    assert re.search(rf"client \d+/\d+ hartwell: {applied(on_hartwell)}", first), first
    assert re.search(rf"client \d+/\d+ dearborn: {applied(on_dearborn)}", first), first
    total = on_hartwell + on_dearborn
    assert re.search(summary(total), first), first
    assert ("tickets", "0007_saved_views") in recorded("default", hartwell.schema_name)
    with connection.cursor() as cursor:  # the table the rollback dropped exists again
        cursor.execute("SELECT to_regclass(%s)", [f"{hartwell.schema_name}.tickets_savedview"])
        assert cursor.fetchone()[0] is not None

    second = upgrade("--skip-connectors")
    assert re.search(r"client \d+/\d+ hartwell: up to date", second), second
    assert "Nothing to apply: all" in second and "schemas were up to date" in second
    assert "Connector tools not checked (--skip-connectors)" in second


def test_upgrade_reports_tools_that_playbooks_and_rules_name_but_servers_no_longer_list(
    hartwell: Any, dearborn: Any, people: dict[str, Any]
) -> None:
    from django_tenants.utils import tenant_context

    with tenant_context(hartwell):
        clock = services.connect(
            client=hartwell,
            draft=Draft(kind=Kind.MCP_STDIO, name="Clock", command=str(VENV_BIN / "mcp-server-time")),
            actor=people["alice"],
        )
        # Connected while it worked; now its command exits at once, as a server broken by an upgrade would.
        broken = services.create_connector(
            client=hartwell,
            draft=Draft(
                kind=Kind.MCP_STDIO, name="Inventory", command=sys.executable, args=["-c", "raise SystemExit(3)"]
            ),
            actor=people["alice"],
            tools=[],
            operator=True,
        )
        ClientPlaybook.objects.create(name="clock-check", yaml=CLOCK_PLAYBOOK)
        SafetyRule.objects.create(effect=RuleEffect.DENY, connector=clock, tool_pattern="convert_time")
        SafetyRule.objects.create(effect=RuleEffect.ALLOW, connector=clock, tool_pattern="restart_*", label="restarts")
        SafetyRule.objects.create(effect=RuleEffect.DENY, tool_pattern="delete_user", label="no deletions")
        SafetyRule.objects.create(effect=RuleEffect.DENY, connector=broken, tool_pattern="reserve_stock")
    connection.set_schema_to_public()

    text = upgrade()
    hartwell_block = text.split("  hartwell:\n", 1)[1].split("  No enabled connector", 1)[0]
    clock_line = next(line for line in hartwell_block.splitlines() if line.strip().startswith("Clock:"))
    assert "2 of 4 named tools missing" in clock_line
    assert "get_timezone_offset (not listed; named by playbook clock-check step offset)" in clock_line
    assert "restart_* (no tool matches; named by allow rule 'restarts')" in clock_line
    assert "get_current_time" not in clock_line and "convert_time" not in clock_line  # both listed
    assert re.search(r"Inventory: unreachable, tools not checked \(\w+", hartwell_block), hartwell_block
    assert "delete_user (not listed; named by deny rule 'no deletions') on no connector" in hartwell_block
    assert re.search(r"No enabled connector \(\d+ clients?\): .*dearborn", text), text
    assert "Connector tools: hartwell 3 missing; 1 connector unreachable." in text

    with tenant_context(hartwell):  # the live listing refreshed the registry the gate reads
        assert set(clock.tools.filter(present=True).values_list("name", flat=True)) == {
            "get_current_time",
            "convert_time",
        }
    connection.set_schema_to_public()


def test_a_failing_schema_is_named_with_what_to_do(hartwell: Any) -> None:
    # A schema whose migration table says tickets 0007 is not applied while its table is there: CREATE fails.
    with connection.cursor() as cursor:
        cursor.execute(
            f'DELETE FROM "{hartwell.schema_name}".django_migrations WHERE app = %s AND name = %s',
            ["tickets", "0007_saved_views"],
        )
    with pytest.raises(CommandError) as failure:
        upgrade("--skip-connectors")
    message = str(failure.value)
    assert re.search(r"client \d+/\d+ hartwell \(schema hartwell\) failed: \w+", message), message
    assert "run `gaby upgrade` again" in message and "restore the backup" in message
