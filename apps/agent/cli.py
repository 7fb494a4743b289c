"""The agent's ``manage.py gaby`` subcommands."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from apps.agent.evals import command as eval_command


def register(subparsers: Any, command: BaseCommand) -> None:
    eval_command.register(subparsers, command)
