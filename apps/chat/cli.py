"""``gaby`` subcommands of the chat app (tenants/management/commands/gaby.py): one ``register`` per surface."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from apps.chat.surfaces.teams import cli as teams_cli


def register(subparsers: Any, command: BaseCommand) -> None:
    teams_cli.register(subparsers, command)
