"""The eval world: a throwaway client with the demo knowledge, a shop database, and Keycloak and Stripe
stand-ins behind the real first-party connectors — so every eval runs the product's own path end to end.

The client is created fresh for each run (its schema migrated) and dropped afterwards, so runs never see
each other's tickets, actions or cached answers.
"""

from __future__ import annotations

import secrets
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
import yaml
from django.conf import settings
from django_tenants.utils import schema_context, tenant_context

from apps.agent.evals.corpus import CORPUS_DIR
from apps.agent.investigations import save_settings
from apps.connectors import services as connectors
from apps.connectors.specs import keycloak_draft, postgres_draft, stripe_draft
from apps.core.env import database_url
from apps.knowledge import services as knowledge
from apps.llm.models import Workflow
from apps.llm.services import save_provider, set_route
from apps.safety.services import configure_connector
from apps.tickets import services as tickets
from apps.tickets.models import Contact
from tenants.models import Client
from tenants.services import create_client, update_client_settings

SHOP_DATABASE = "gaby_eval_shop"
EVAL_AUTONOMY = "auto"  # act: the most the policy allows; the safety gate and rules still decide every write


@dataclass
class LLMSettings:
    url: str
    model: str
    api_key: str = ""


@dataclass
class Environment:
    client: Client
    source: Any
    stack: ExitStack = field(default_factory=ExitStack)
    sandboxes: dict[str, Any] = field(default_factory=dict)
    # Further clients of the same world by key (the MSP world's second customer), each with its own inbox: a case
    # naming one (``client:``) is investigated there, so what one client's connectors hold can never answer another.
    others: dict[str, tuple[Client, Any]] = field(default_factory=dict)

    def target(self, key: str = "") -> tuple[Client, Any]:
        """The client and inbox a case goes to: the world's first client, or the one its ``client:`` names."""
        if not key:
            return self.client, self.source
        if key not in self.others:
            known = ", ".join(sorted(self.others)) or "none: this world has one client"
            raise ValueError(f"No eval client {key!r} in this world (others: {known}).")
        return self.others[key]

    def reset(self) -> None:
        """Put every stand-in back to its seed."""
        for sandbox in self.sandboxes.values():
            sandbox.reset_data()

    def close(self, *, keep: bool = False) -> None:
        self.stack.close()
        if not keep:
            drop_clients([self.client, *(other for other, _ in self.others.values())])


def drop_clients(clients: list[Client]) -> None:
    """Drop each eval client and its schema; one that fails to drop does not keep the others."""
    failures = []
    for client in clients:
        try:
            client.delete(force_drop=True)
        except Exception as exc:
            failures.append(f"{client.schema_name}: {exc}")
    if failures:
        raise RuntimeError("Could not drop eval client(s): " + "; ".join(failures))


def create_eval_client(*, name: str, slug: str, changes: dict[str, Any] | None = None) -> Client:
    """A throwaway client at the eval autonomy (plus ``changes`` to its settings), in the public schema."""
    with schema_context("public"):
        client = create_client(name=name, slug=slug)
        return update_client_settings(client=client, changes={"autonomy": EVAL_AUTONOMY, **(changes or {})}, actor=None)


def prepare_inbox(*, client: Client, pages: Path, help_center: str, knowledge_threshold: float | None) -> Any:
    """Inside the client's tenant: no investigation starts by itself, its eval inbox, its help center (the
    directory of ``pages``) synced. Returns the inbox (a ticket source)."""
    changes: dict[str, Any] = {"auto_investigate": False}
    if knowledge_threshold is not None:  # else the default a new client gets
        changes["knowledge_threshold"] = knowledge_threshold
    save_settings(changes=changes, actor=None)
    source = tickets.create_source(client=client, kind="webhook", name="Eval inbox", config={})
    docs = knowledge.directory_source_for(path=pages, name=help_center)
    knowledge.sync_now(source=docs)
    return source


def connect_acting(*, client: Client, draft: Any) -> Any:
    """Connect a first-party connector through the real path and let it act within the gate: writes below the
    client's approval threshold run, the rest wait for a technician."""
    connector = connectors.connect(client=client, draft=draft, actor=None, operator=True)
    configure_connector(connector=connector, autonomy="act", scope="read_write", is_production=False, actor=None)
    return connector


def shop_database_url(corpus: Path = CORPUS_DIR) -> str:
    """(Re)create the demo shop database from ``shop.sql`` in the same PostgreSQL server; return its URL."""
    db = settings.DATABASES["default"]
    with psycopg.connect(database_url(db), autocommit=True) as admin:
        exists = admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", [SHOP_DATABASE]).fetchone()
        if not exists:
            admin.execute(f'CREATE DATABASE "{SHOP_DATABASE}"')
    shop_url = database_url(db, name=SHOP_DATABASE)
    with psycopg.connect(shop_url, autocommit=True) as shop:
        shop.execute((corpus / "shop.sql").read_bytes())
    return shop_url


def _seed(name: str, corpus: Path) -> dict[str, Any]:
    loaded = yaml.safe_load((corpus / f"{name}.yaml").read_text(encoding="utf-8"))
    if not isinstance(loaded, dict):
        raise ValueError(f"{name}.yaml must be a mapping (the stand-in's seed).")
    return loaded


def _known_customers(keycloak_seed: dict[str, Any]) -> None:
    """Northwind's customers are contacts the help desk already knows (a look-alike of their domains is one)."""

    for user in keycloak_seed.get("users", []):
        name = " ".join(part for part in (user.get("firstName"), user.get("lastName")) if part)
        Contact.objects.get_or_create(email=str(user["email"]).lower(), defaults={"name": name})


def route_every_workflow(client: Client, llm: LLMSettings) -> None:
    """Send every workflow to the model under evaluation (inside the client's tenant context)."""

    provider = save_provider(
        client=client,
        name="Eval model",
        kind="openai_compatible",
        api_base=llm.url,
        credentials={"api_key": llm.api_key or "none"},
    )
    for workflow in Workflow.values:
        set_route(workflow=workflow, provider=provider, model=llm.model, timeout_seconds=120)


def build(
    *,
    llm: LLMSettings | None = None,
    corpus: Path = CORPUS_DIR,
    slug: str = "",
    knowledge_threshold: float | None = None,
) -> Environment:
    from sandbox.keycloak import KeycloakSandbox  # the stand-ins live beside the repo, not in the app image
    from sandbox.stripe import StripeSandbox

    client = create_eval_client(name="Gaby eval (Northwind)", slug=slug or f"eval{secrets.token_hex(4)}")
    env = Environment(client=client, source=None)
    try:
        kc_seed, stripe_seed = _seed("keycloak", corpus), _seed("stripe", corpus)
        keycloak, stripe = KeycloakSandbox(kc_seed), StripeSandbox(stripe_seed)
        keycloak_url, stripe_url = keycloak.start(), stripe.start()
        env.stack.callback(keycloak.stop)
        env.stack.callback(stripe.stop)
        env.sandboxes = {"keycloak": keycloak, "stripe": stripe}
        kc_client, kc_secret = next(iter(kc_seed["clients"].items()))
        with tenant_context(client):
            env.source = prepare_inbox(
                client=client,
                pages=corpus / "knowledge",
                help_center="Northwind help center",
                knowledge_threshold=knowledge_threshold,
            )
            _known_customers(kc_seed)
            drafts = [
                postgres_draft(
                    name="Shop DB",
                    url=shop_database_url(corpus),
                    allow_writes=False,
                    row_cap=50,
                    statement_timeout_ms=5000,
                ),
                keycloak_draft(
                    name="Keycloak",
                    url=keycloak_url,
                    realm=kc_seed["realm"],
                    client_id=kc_client,
                    client_secret=kc_secret,
                ),
                stripe_draft(name="Stripe", api_key=stripe_seed["api_keys"][0], api_base=stripe_url),
            ]
            for draft in drafts:
                if draft.name == "Shop DB":  # read-only, with the defaults a new connector gets
                    connectors.connect(client=client, draft=draft, actor=None, operator=True)
                else:
                    connect_acting(client=client, draft=draft)
            if llm is not None:
                route_every_workflow(client, llm)
    except BaseException:
        env.close()
        raise
    return env
