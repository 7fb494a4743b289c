"""``gaby upgrade``: migrate every schema with progress, check each client's connector tools, summarise.

Safe to re-run: a second run applies nothing and says so. docs/operations/upgrades.md has the procedure and the
rollback note (restore the backup taken before: not every migration can be reversed).
"""

from __future__ import annotations

import time
from collections import Counter
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.db import connection
from django_tenants.utils import get_public_schema_name, tenant_context

from tenants.db_privileges import owner_alias
from tenants.models import Client
from tenants.schema_migrations import SchemaMigrated, SchemaMigrationFailed, migrate_every_schema
from tenants.tool_check import ClientToolReport, check_client_tools


def register(subparsers: Any, command: BaseCommand) -> None:
    upgrade = subparsers.add_parser(
        "upgrade",
        help="Migrate the public schema and every client schema, then check each connector still lists the tools "
        "its playbooks and rules name.",
    )
    upgrade.add_argument("--skip-connectors", action="store_true", help="Only migrate; do not reach any connector.")
    upgrade.set_defaults(handler=upgrade_command)


def upgrade_command(command: BaseCommand, options: dict[str, Any]) -> None:
    out = command.stdout
    started = time.monotonic()
    out.write(f"Migrating every schema (database alias {owner_alias()!r})")
    try:
        migrated = migrate_every_schema(lambda result: out.write(f"  {result.line()}"))
    except SchemaMigrationFailed as exc:
        raise CommandError(
            f"{exc}\nThe schemas before it are migrated. Fix the cause and run `gaby upgrade` again (it resumes "
            "there), or restore the backup taken before the upgrade (docs/operations/upgrades.md)."
        ) from exc
    tools: dict[str, ClientToolReport] = {}
    if not options["skip_connectors"]:
        out.write("Checking each enabled connector's tools against the playbooks and safety rules that name them")
        without = []  # one line for them all: most of an MSP's clients may have none yet
        for client in Client.objects.exclude(schema_name=get_public_schema_name()).order_by("schema_name"):
            with tenant_context(client):
                tools[client.slug] = report = check_client_tools()
            if not report.connectors:
                without.append(client.slug)
                continue
            out.write(f"  {client.slug}:")
            for line in [r.line() for r in report.connectors] + [
                f"{named} on no connector" for named in report.unmatched_rules
            ]:
                out.write(f"    {line}")
        if without:
            count = f"{len(without)} client{'s' if len(without) != 1 else ''}"
            out.write(f"  No enabled connector ({count}): {', '.join(without)}")
        tenant_connection: Any = connection  # django-tenants' database wrapper (set_schema_to_public)
        tenant_connection.set_schema_to_public()
    out.write(summary(migrated, tools, skipped=options["skip_connectors"], seconds=time.monotonic() - started))


def summary(
    migrated: list[SchemaMigrated], tools: dict[str, ClientToolReport], *, skipped: bool, seconds: float
) -> str:
    applied = sum(len(result.applied) for result in migrated)
    if applied:
        by_app: Counter[str] = Counter()
        for result in migrated:
            by_app.update(result.by_app)
        changed = sum(1 for result in migrated if result.applied)
        apps = ", ".join(f"{app} {n}" for app, n in sorted(by_app.items()))
        lines = [f"Applied {applied} migrations in {changed} of {len(migrated)} schemas: {apps}."]
        if copied := sum(1 for result in migrated if result.cloned):
            lines.append(
                f"{copied} of those schemas {'were' if copied != 1 else 'was'} copied from the template schema."
            )
    else:
        lines = [f"Nothing to apply: all {len(migrated)} schemas were up to date."]
    if skipped:
        lines.append("Connector tools not checked (--skip-connectors).")
    else:
        missing = {slug: report.missing for slug, report in tools.items() if report.missing}
        unreachable = sum(report.unreachable for report in tools.values())
        if not any(report.connectors for report in tools.values()):
            found = "no enabled connector to check"
        elif missing:
            found = "; ".join(f"{slug} {count} missing" for slug, count in missing.items())
        else:
            found = "every named tool is listed"
        if unreachable:
            found += f"; {unreachable} connector{'s' if unreachable != 1 else ''} unreachable"
        lines.append(f"Connector tools: {found}.")
    lines.append(f"Done in {seconds:.1f} s.")
    return "Summary: " + " ".join(lines)
