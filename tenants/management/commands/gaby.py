"""``manage.py gaby <subcommand>``: Gaby's operator CLI.

Every installed app may contribute subcommands from a ``cli`` module exposing
``register(subparsers)``; each subcommand sets ``handler`` to a callable taking the parsed options.
"""

from __future__ import annotations

import importlib
from typing import Any

from django.apps import apps
from django.core.management.base import BaseCommand, CommandError, CommandParser


class Command(BaseCommand):
    help = "Gaby's operator commands. Run `manage.py gaby --help` for the list."

    def add_arguments(self, parser: CommandParser) -> None:
        subparsers = parser.add_subparsers(dest="subcommand", metavar="SUBCOMMAND", required=True)
        for config in apps.get_app_configs():
            try:
                module = importlib.import_module(f"{config.name}.cli")
            except ModuleNotFoundError as exc:
                if exc.name != f"{config.name}.cli":
                    raise
                continue
            module.register(subparsers, self)

    def handle(self, *args: Any, **options: Any) -> None:
        handler = options.get("handler")
        if handler is None:
            raise CommandError("Name a subcommand; see `manage.py gaby --help`.")
        handler(self, options)
