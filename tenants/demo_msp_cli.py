"""``gaby demo-standins connect``: the demo clients' Microsoft 365 and NinjaOne connectors on the stand-ins
``./gaby run`` starts (tenants/demo_msp.py), with the lines the launcher prints about them.

The launcher runs it beside the web and worker start rather than in ``gaby bootstrap``: its connection tests start
the connectors' MCP servers, which is most of what the MSP stack adds to a first start (bench/demo_startup.py).
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from gaby_site.demo_standins import DemoStandIns
from tenants.demo import DEMO_CLIENTS
from tenants.demo_msp import DemoStackError, banner_lines, seed_msp
from tenants.models import Client


def register(subparsers: Any, command: BaseCommand) -> None:
    parser = subparsers.add_parser(
        "demo-standins",
        help="Connect the demo clients to the Microsoft 365 and NinjaOne stand-ins ./gaby run starts (or revoke).",
    )
    parser.add_argument("action", choices=("connect", "revoke"))
    parser.add_argument("--demo-mail", action="store_true", help="The demo mail server runs: print how to send.")
    parser.set_defaults(handler=handle)


def handle(command: BaseCommand, options: dict[str, Any]) -> None:
    clients = {slug: found for slug, _name in DEMO_CLIENTS if (found := Client.objects.filter(slug=slug).first())}
    if not clients:
        raise CommandError("There is no demo MSP here yet: run gaby bootstrap --demo first.")
    standins = DemoStandIns.from_env(settings.DATA_DIR) if options["action"] == "connect" else None
    try:
        stack = seed_msp(clients, standins)
    except DemoStackError as exc:
        raise CommandError(str(exc)) from exc
    for line in banner_lines(standins, stack, clients, mail_on=options["demo_mail"]):
        command.stdout.write(line)
