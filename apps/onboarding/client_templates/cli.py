"""``gaby templates`` (list) and ``gaby apply-template`` (show or apply a template to an existing client); the
``--template`` of ``gaby create-client`` (tenants/cli.py) uses ``template_for_cli`` and ``report_onboarding``."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from apps.onboarding.client_templates.apply import Change, apply, plan
from apps.onboarding.client_templates.models import ClientTemplate
from apps.onboarding.client_templates.onboard import Onboarded, check_latest
from tenants.models import Client


def register(subparsers: Any, command: BaseCommand) -> None:
    listing = subparsers.add_parser("templates", help="List the onboarding templates and their latest versions.")
    listing.set_defaults(handler=list_templates)
    use = subparsers.add_parser(
        "apply-template", help="Show what a template's latest version would change in a client, then apply it."
    )
    use.add_argument("--client", required=True, help="The client's slug.")
    use.add_argument("--template", required=True, help="The template's key, e.g. dental-office.")
    use.add_argument("--yes", action="store_true", help="Apply; without it only the changes are shown.")
    use.set_defaults(handler=apply_template_command)


def template_for_cli(key: str | None) -> ClientTemplate | None:
    """The template named ``key`` (None for none), checked, or a ``CommandError`` listing the keys there are."""
    if not key:
        return None
    template = ClientTemplate.objects.filter(key=key.strip().lower()).first()
    if template is None:
        keys = ", ".join(ClientTemplate.objects.order_by("key").values_list("key", flat=True)) or "none yet"
        raise CommandError(f"No onboarding template {key!r}; the templates are: {keys} (`gaby templates`).")
    try:
        check_latest(template)
    except ValidationError as exc:
        raise CommandError(" ".join(exc.messages)) from exc
    return template


def _write_changes(command: BaseCommand, changes: list[Change] | tuple[Change, ...]) -> None:
    for change in changes:
        command.stdout.write(f"  {change.section:<14} {change.what}: {change.before} -> {change.after}")


def report_onboarding(command: BaseCommand, onboarded: Onboarded) -> None:
    if not onboarded.message:
        return
    if not onboarded.applied:
        raise CommandError(onboarded.message)
    command.stdout.write(onboarded.message)
    _write_changes(command, onboarded.changes)


def list_templates(command: BaseCommand, options: dict[str, Any]) -> None:
    for template in ClientTemplate.objects.order_by("key"):
        latest = template.latest
        command.stdout.write(f"{template.key:<20} v{latest.number if latest else 0:<4} {template.name}")


def apply_template_command(command: BaseCommand, options: dict[str, Any]) -> None:
    client = Client.objects.filter(slug=options["client"]).exclude(schema_name="public").first()
    if client is None:
        raise CommandError(f"No client with slug {options['client']!r}.")
    template = template_for_cli(options["template"])
    assert template is not None
    version = template.latest
    if not options["yes"]:
        changes = plan(client=client, version=version)
        command.stdout.write(f"Applying {template.name} v{version.number} to {client.name} would change:")
        _write_changes(command, changes)
        command.stdout.write("Nothing changed yet: add --yes to apply." if changes else "  nothing")
        return
    changes = apply(client=client, version=version, actor=None)
    command.stdout.write(f"{template.name} v{version.number} applied to {client.name}: {len(changes)} change(s).")
    _write_changes(command, changes)
