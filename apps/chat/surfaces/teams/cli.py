"""``gaby teams-manifest``: the Teams app package for this MSP (manifest.json v1.17 + icons, zipped), ready to
upload in the Teams admin center; ``gaby teams-install``: a client's Entra tenant, channels and allowed users;
``gaby teams-demo replay``: a demo Teams conversation against the stand-ins."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django_tenants.utils import tenant_context

from apps.chat.models import ChatSurfaceInstall, SurfaceAccess
from apps.chat.surfaces import routing
from apps.chat.surfaces.teams import manifest
from apps.connectors import m365_partner
from tenants.models import Client


def register(subparsers: Any, command: BaseCommand) -> None:
    parser = subparsers.add_parser(
        "teams-manifest", help="Write the Teams app package (manifest.json and icons, zipped) for upload."
    )
    parser.add_argument("--out", default="gaby-teams.zip", help="Where to write the zip (default gaby-teams.zip).")
    parser.add_argument("--app-id", default="", help="The Azure Bot's Microsoft App ID (default GABY_TEAMS_APP_ID).")
    parser.add_argument("--name", default="Gaby", help="The persona's name in Teams (30 characters at most).")
    parser.add_argument("--developer", required=True, help="Your company's name, shown as the app's developer.")
    parser.add_argument("--website", required=True, help="Your website (https://).")
    parser.add_argument("--privacy-url", required=True, help="Your privacy statement (https://).")
    parser.add_argument("--terms-url", required=True, help="Your terms of use (https://).")
    parser.add_argument("--domain", default="", help="The portal host (default GABY_BASE_DOMAIN).")
    parser.add_argument("--accent-color", default="#0B6E4F", help="The icon's background, e.g. #0B6E4F.")
    parser.add_argument("--color-icon", default="", help="A 192x192 PNG (default GABY_TEAMS_ICON_COLOR or drawn).")
    parser.add_argument("--outline-icon", default="", help="A 32x32 white-on-transparent PNG (default: drawn).")
    parser.add_argument("--app-version", default="1.0.0", help="Raise it for each upload of a changed package.")
    parser.set_defaults(handler=write_manifest)
    install = subparsers.add_parser(
        "teams-install", help="Let a client's Entra tenant use Gaby in Teams (its channels, who may use it)."
    )
    install.add_argument("--client", required=True, help="The client's slug.")
    install.add_argument(
        "--tenant",
        default="",
        help="The Entra tenant id (default: the tenant of the client's Microsoft 365 connector).",
    )
    install.add_argument("--channel", action="append", default=[], help="A channel id Gaby answers mentions in.")
    install.add_argument("--allow", action="append", default=[], help="Only these emails or domains may use it.")
    install.set_defaults(handler=install_for_client)
    from apps.chat.surfaces.teams import demo

    demo.register(subparsers)


def _tenant_of(client: Client) -> str:
    """The tenant the MSP already mapped to this client: its Microsoft 365 connector's (m365_partner)."""
    tenants = sorted({s.tenant_id for s in m365_partner.existing() if s.client.pk == client.pk and s.tenant_id})
    if len(tenants) != 1:
        found = ", ".join(tenants) or "none"
        raise CommandError(
            f"Give --tenant: {client.name} has {len(tenants)} Microsoft 365 tenants connected ({found}). The tenant id "
            "is the Directory (tenant) ID on the Entra ID overview page of the client's Microsoft 365."
        )
    return tenants[0]


def install_for_client(command: BaseCommand, options: dict[str, Any]) -> None:
    client = Client.objects.filter(slug=options["client"]).first()
    if client is None:
        raise CommandError(f"No client {options['client']!r}.")
    tenant = (options["tenant"] or _tenant_of(client)).strip().lower()
    if not m365_partner.GUID.match(tenant):
        raise CommandError(f"{tenant!r} is not a tenant id (a GUID): copy the Directory (tenant) ID from Entra ID.")
    try:
        row = routing.install(
            client=client,
            kind="teams",
            workspace_id=tenant,
            display_name=f"{client.name} (Teams)",
            bot_token="",  # one Azure Bot serves every client: its credentials are settings, not per install
            channels=options["channel"],
        )
    except routing.InstallError as exc:
        raise CommandError(str(exc)) from None
    if options["allow"]:
        with tenant_context(client):
            ChatSurfaceInstall.objects.filter(pk=row.pk).update(access=SurfaceAccess.LISTED, allowed=options["allow"])
    listens = ", ".join(options["channel"]) or "no channels (personal chats only)"
    command.stdout.write(f"Teams tenant {tenant} now reaches {client.name}; Gaby listens to {listens}.")


def write_manifest(command: BaseCommand, options: dict[str, Any]) -> None:
    info = manifest.AppInfo(
        app_id=options["app_id"] or settings.TEAMS_APP_ID,
        persona=options["name"],
        developer=options["developer"],
        website_url=options["website"],
        privacy_url=options["privacy_url"],
        terms_url=options["terms_url"],
        domain=options["domain"] or settings.BASE_DOMAIN,
        accent_color=options["accent_color"],
        version=options["app_version"],
    )
    try:
        data = manifest.package(
            info,
            color_png=options["color_icon"] or settings.TEAMS_ICON_COLOR,
            outline_png=options["outline_icon"] or settings.TEAMS_ICON_OUTLINE,
        )
    except (manifest.ManifestError, OSError) as exc:
        raise CommandError(str(exc)) from None
    out = Path(options["out"])
    out.write_bytes(data)
    command.stdout.write(
        f"Wrote {out} ({len(data)} bytes): upload it in the Teams admin center (Teams apps → Manage apps → Upload), "
        "or in Teams (Apps → Manage your apps → Upload an app)."
    )
