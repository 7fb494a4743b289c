"""``gaby bootstrap``, ``gaby create-client``, ``gaby add-member``."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from apps.accounts.models import Role, User
from apps.accounts.services import mint_first_admin, set_membership
from apps.onboarding.client_templates.cli import report_onboarding, template_for_cli
from apps.onboarding.client_templates.onboard import apply_on_onboarding
from gaby_site.demo_mail import DemoMail
from gaby_site.demo_standins import DemoStandIns
from tenants.addresses import client_domain
from tenants.demo import DEMO_PEOPLE, seed_demo
from tenants.demo_mail_cli import banner_lines as demo_mail_banner
from tenants.demo_mail_cli import register as register_demo_mail
from tenants.demo_msp import banner_lines as msp_banner
from tenants.demo_msp import connected, seed_msp
from tenants.demo_msp_cli import register as register_demo_standins
from tenants.models import Client
from tenants.services import create_client, ensure_public_tenant
from tenants.upgrade_cli import register as register_upgrade


def register(subparsers: Any, command: BaseCommand) -> None:
    boot = subparsers.add_parser("bootstrap", help="Create the portal, mint the first admin, optionally seed the demo.")
    boot.add_argument("--demo", action="store_true", help="Seed the demo MSP: Hartwell Law, Dearborn CPA and personas.")
    boot.add_argument(
        "--demo-mail",
        action="store_true",
        help="With --demo: give each demo client an email source on the demo mail server (./gaby run starts it).",
    )
    boot.add_argument(
        "--demo-standins",
        action="store_true",
        help="With --demo: the Microsoft 365 and NinjaOne stand-ins run (./gaby run starts them and connects the demo "
        "clients with gaby demo-standins connect); without it, the demo's connectors to them are revoked.",
    )
    boot.add_argument("--admin-email", default=f"admin@{settings.BASE_DOMAIN}", help="Email of the first admin.")
    boot.add_argument(
        "--print-password",
        action="store_true",
        help="Print the first admin's password instead of writing it to a file only this user can read "
        "(output often ends up in logs).",
    )
    boot.set_defaults(handler=bootstrap)

    new = subparsers.add_parser("create-client", help="Onboard a client: schema, migrations, subdomain.")
    new.add_argument("name")
    new.add_argument("--slug", required=True, help="Subdomain and schema name, e.g. hartwell.")
    new.add_argument("--admin", help="Email of an existing user to make the client's first Admin.")
    new.add_argument("--template", help="Key of an onboarding template to apply in the same step, e.g. law-firm.")
    new.set_defaults(handler=create_client_command)

    member = subparsers.add_parser("add-member", help="Give a user a role on a client (creates the user if new).")
    member.add_argument("--client", required=True, help="The client's slug.")
    member.add_argument("--email", required=True)
    member.add_argument("--role", required=True, choices=Role.values)
    member.set_defaults(handler=add_member)

    register_demo_mail(subparsers, command)
    register_demo_standins(subparsers, command)
    register_upgrade(subparsers, command)


FIRST_ADMIN_FILE = "bootstrap/first-admin-password"  # docker/compose.yaml keeps bootstrap/ in a volume


def _port_suffix() -> str:
    return "" if settings.PUBLIC_PORT in (80, 443) else f":{settings.PUBLIC_PORT}"


def bootstrap(command: BaseCommand, options: dict[str, Any]) -> None:
    ensure_public_tenant()
    minted = mint_first_admin(email=options["admin_email"])
    scheme = "https" if settings.HTTPS else "http"
    out = command.stdout
    if options["demo"]:
        mail = DemoMail.from_env(settings.DATA_DIR) if options["demo_mail"] else None
        clients, _people, password = seed_demo(mail)
        standins = DemoStandIns.from_env(settings.DATA_DIR) if options["demo_standins"] else None
        # Revoked when nothing would answer them; connected here when that tests no connection (every run after the
        # first), else by gaby demo-standins connect, which ./gaby run starts beside the web and the worker.
        msp = seed_msp(clients, standins) if standins is None or connected(clients, standins) else None
        out.write("Demo MSP ready:")
        for client in clients.values():
            out.write(f"  {client.name:<14} {scheme}://{client_domain(client.slug)}{_port_suffix()}/")
        out.write(f"Demo logins (password for all: {password}):")
        for person in DEMO_PEOPLE:
            roles = ", ".join(f"{role} of {slug}" for slug, role in person.roles.items())
            staff = " + MSP staff" if person.msp_staff else ""
            out.write(f"  {person.key:<6} {person.email:<26} {roles}{staff}")
        for line in demo_mail_banner(mail, clients):
            out.write(line)
        for line in msp_banner(standins, msp, clients, mail_on=mail is not None) if msp is not None else []:
            out.write(line)
    out.write(f"MSP portal: {scheme}://{settings.BASE_DOMAIN}{_port_suffix()}/")
    if minted and options.get("print_password"):
        out.write(command.style.WARNING("First run: the install's admin was created. This password is shown once:"))
        out.write(f"  {minted.email}  {minted.password}")
    elif minted:
        # Not to stdout: a container's or a service manager's output is kept in logs that many people can read.
        path = Path(settings.DATA_DIR) / FIRST_ADMIN_FILE
        path.parent.mkdir(parents=True, exist_ok=True)
        path.parent.chmod(0o700)
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w") as handle:
            handle.write(f"{minted.email}\n{minted.password}\n")
        notice = (
            f"First run: the install's admin {minted.email} was created. Its password is in {path} (readable by this "
            "user only): sign in, change it, delete the file."
        )
        out.write(command.style.WARNING(notice))


def create_client_command(command: BaseCommand, options: dict[str, Any]) -> None:
    admin = None
    if options.get("admin"):
        admin = User.objects.filter(email=options["admin"].lower()).first()
        if admin is None:
            raise CommandError(f"No user with email {options['admin']!r}: create them first or leave --admin out.")
    template = template_for_cli(options.get("template"))  # checked before the client exists
    try:
        client = create_client(name=options["name"], slug=options["slug"], admin=admin)
    except ValidationError as exc:
        raise CommandError("; ".join(exc.messages)) from exc
    command.stdout.write(f"Created {client.name}: schema {client.schema_name}, domain {client_domain(client.slug)}")
    # The command's operator applied it, not the --admin it names (as gaby apply-template records it).
    report_onboarding(command, apply_on_onboarding(client=client, template=template, actor=None))


def add_member(command: BaseCommand, options: dict[str, Any]) -> None:
    client = Client.objects.filter(slug=options["client"]).first()
    if client is None:
        raise CommandError(f"No client with slug {options['client']!r}.")
    actor = User.objects.filter(is_superuser=True).order_by("date_joined").first()
    if actor is None:
        raise CommandError("Run `gaby bootstrap` first: there is no admin yet.")
    membership = set_membership(client=client, email=options["email"], role=options["role"], actor=actor)
    command.stdout.write(f"{membership.user.email} is now {membership.get_role_display()} of {client.name}.")
