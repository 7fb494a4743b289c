"""``gaby audit verify --client SLUG [--anchor TOKEN]``, ``gaby audit anchor --client SLUG`` and
``gaby audit export --client SLUG [--output FILE]``."""

from __future__ import annotations

import sys
from contextlib import nullcontext
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django_tenants.utils import get_public_schema_name, schema_context

from apps.auditlog import anchor as audit_anchor
from apps.auditlog import audit
from tenants.models import Client

PORTAL = "portal"


def register(subparsers: Any, command: BaseCommand) -> None:
    parser = subparsers.add_parser("audit", help="Verify or export a client's hash-chained audit log.")
    actions = parser.add_subparsers(dest="audit_action", metavar="ACTION", required=True)
    verify = actions.add_parser("verify", help="Recompute the chain and name the first broken link.")
    verify.add_argument("--client", required=True, help=f"The client's slug, or {PORTAL!r} for the install-level log.")
    verify.add_argument("--anchor", help="An anchor `gaby audit anchor` printed earlier: the log must still hold it.")
    verify.set_defaults(handler=verify_command)
    anchor = actions.add_parser("anchor", help="Print a signed anchor of the chain's head, to keep outside Gaby.")
    anchor.add_argument("--client", required=True, help=f"The client's slug, or {PORTAL!r}.")
    anchor.set_defaults(handler=anchor_command)
    export = actions.add_parser("export", help="Write the log as JSON lines (oldest first).")
    export.add_argument("--client", required=True, help=f"The client's slug, or {PORTAL!r}.")
    export.add_argument("--output", help="File to write; standard output when left out.")
    export.set_defaults(handler=export_command)


def _schema(slug: str) -> str:
    if slug == PORTAL:
        return get_public_schema_name()
    client = Client.objects.filter(slug=slug).exclude(schema_name=get_public_schema_name()).first()
    if client is None:
        raise CommandError(
            f"No client with slug {slug!r}; `gaby audit verify --client {PORTAL}` checks the install log."
        )
    return client.schema_name


def verify_command(command: BaseCommand, options: dict[str, Any]) -> None:
    with schema_context(_schema(options["client"])):
        report = audit.verify()
        against = audit_anchor.check(options["anchor"]) if options.get("anchor") else ""
    if not report.ok:
        raise CommandError(
            f"Audit chain of {options['client']} is BROKEN at event #{report.broken_at}: {report.reason} "
            f"({report.checked} events before it verified)."
        )
    if against:
        raise CommandError(f"Audit chain of {options['client']} does NOT hold its anchor: {against}.")
    anchored = " and holds its anchor" if options.get("anchor") else ""
    command.stdout.write(f"Audit chain of {options['client']} verified: {report.checked} events, no break{anchored}.")


def anchor_command(command: BaseCommand, options: dict[str, Any]) -> None:
    with schema_context(_schema(options["client"])):
        command.stdout.write(audit_anchor.sign_head())


def export_command(command: BaseCommand, options: dict[str, Any]) -> None:
    target = options.get("output")
    schema = _schema(options["client"])
    with schema_context(schema), open(target, "w", encoding="utf-8") if target else nullcontext(sys.stdout) as out:
        count = 0
        for line in audit.export_jsonl():
            out.write(line)
            count += 1
    if target:
        command.stdout.write(f"Wrote {count} events to {target}.")
