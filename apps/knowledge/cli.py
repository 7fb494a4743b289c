"""``gaby ingest PATH --client SLUG``: index a folder into a client's knowledge base, with a progress bar."""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any, TextIO

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django_tenants.utils import tenant_context

from apps.knowledge.readers import ReaderError
from apps.knowledge.services import directory_source_for, set_embedding_backend, sync_now
from apps.llm.models import LLMProvider
from tenants.models import Client


def register(subparsers: Any, command: BaseCommand) -> None:
    ingest = subparsers.add_parser(
        "ingest", help="Index a folder of Markdown, text, HTML and PDF files into a client's knowledge base."
    )
    ingest.add_argument("path", help="The folder to index; a second run only re-indexes what changed.")
    ingest.add_argument("--client", required=True, help="The client's slug, e.g. hartwell.")
    ingest.add_argument("--name", help="Name of the knowledge source (default: the folder's path).")
    ingest.set_defaults(handler=ingest_command)

    embeddings = subparsers.add_parser(
        "kb-embeddings", help="Choose a client's embedding backend: default, none, or a LiteLLM model."
    )
    embeddings.add_argument("--client", required=True, help="The client's slug.")
    embeddings.add_argument("--backend", required=True, choices=["default", "litellm", "none"])
    embeddings.add_argument("--provider", default="", help="LiteLLM: the name of one of the client's LLM providers.")
    embeddings.add_argument("--model", default="", help="LiteLLM: the embedding model, e.g. text-embedding-3-small.")
    embeddings.set_defaults(handler=embeddings_command)


class ProgressBar:
    """A one-line bar redrawn in place on a terminal; on a pipe, a line now and then."""

    def __init__(self, out: TextIO, *, width: int = 30) -> None:
        self.out = out
        self.width = width
        self.tty = out.isatty()
        self.last = 0.0

    def __call__(self, done: int, total: int) -> None:
        now = time.monotonic()
        if done not in (0, total) and now - self.last < (0.1 if self.tty else 2.0):
            return
        self.last = now
        filled = self.width * done // total if total else self.width
        line = f"[{'#' * filled}{'.' * (self.width - filled)}] {done}/{total} documents"
        self.out.write(("\r" + line) if self.tty else line + "\n")
        if self.tty and done == total:
            self.out.write("\n")
        self.out.flush()


def ingest_command(command: BaseCommand, options: dict[str, Any]) -> None:
    client = Client.objects.filter(slug=options["client"]).exclude(schema_name="public").first()
    if client is None:
        raise CommandError(f"No client with slug {options['client']!r}; `gaby create-client` makes one.")
    path = Path(options["path"]).expanduser().resolve()
    if not path.is_dir():
        raise CommandError(f"{options['path']} is not a directory.")
    with tenant_context(client):
        try:
            source = directory_source_for(path=path, name=options.get("name"))
            command.stdout.write(f"Indexing {path} into {client.name} (source {source.name!r})")
            report = sync_now(source=source, on_progress=ProgressBar(getattr(command.stdout, "_out", sys.stdout)))
        except (ValidationError, ReaderError) as exc:
            raise CommandError(" ".join(getattr(exc, "messages", [str(exc)]))) from exc
    command.stdout.write(command.style.SUCCESS(report.summary()))


def embeddings_command(command: BaseCommand, options: dict[str, Any]) -> None:
    client = Client.objects.filter(slug=options["client"]).exclude(schema_name="public").first()
    if client is None:
        raise CommandError(f"No client with slug {options['client']!r}.")
    with tenant_context(client):
        provider = None
        if options["provider"]:
            provider = LLMProvider.objects.filter(name=options["provider"]).first()
            if provider is None:
                names = ", ".join(LLMProvider.objects.values_list("name", flat=True)) or "none yet"
                raise CommandError(f"{client.name} has no LLM provider named {options['provider']!r} ({names}).")
        try:
            chosen = set_embedding_backend(backend=options["backend"], provider=provider, model=options["model"])
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from exc
    queued = chosen.reembed_status == "queued"
    note = "Chunks with vectors of another model are queued for re-embedding." if queued else "Nothing to re-embed."
    command.stdout.write(f"{client.name}: {chosen}. {note}")
