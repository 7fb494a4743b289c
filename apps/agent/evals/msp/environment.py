"""The MSP eval world (``gaby eval --world msp``): an MSP's customers as throwaway Gaby clients — Hartwell Law and
Dearborn CPA — each connected as an MSP connects a customer: the first-party Microsoft 365 connector (the real
msgraph-sdk, over TLS) on its own tenant of the Graph stand-in, the first-party NinjaOne connector on its own
organization of the NinjaOne stand-in, its own help center and its office manager as the authorized contact.

Everything the world holds comes from the YAML seeds beside the tickets (``corpus/world.yaml``, ``msgraph.yaml``,
``ninjaone.yaml``, ``knowledge*/``), so a ticket and the directory entry it depends on are read side by side.
"""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any

import yaml
from django_tenants.utils import tenant_context

from apps.agent.evals.environment import (
    Environment,
    LLMSettings,
    connect_acting,
    create_eval_client,
    drop_clients,
    prepare_inbox,
    route_every_workflow,
)
from apps.connectors.specs import microsoft365_draft, ninjaone_draft
from apps.safety.models import AuthorizedContact
from apps.tickets.models import Contact
from tenants.models import Client

MSP_DIR = Path(__file__).resolve().parent
MSP_CORPUS_DIR = MSP_DIR / "corpus"
MSP_HELDOUT_DIR = MSP_DIR / "heldout"  # written before the first run; never tuned on
# A week of an MSP's queue, its category mix taken from a published ticket analysis, written blind to the engine.
MSP_UNSEEN_DIR = MSP_DIR / "unseen"
GB = 1024**3


class WorldError(ValueError):
    """A seed the world cannot be built from; the message names the file and the field."""


def load_seed(corpus: Path, name: str) -> dict[str, Any]:
    path = corpus / f"{name}.yaml"
    try:
        loaded = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise WorldError(
            f"{path} is missing: the MSP world needs world.yaml, msgraph.yaml and ninjaone.yaml."
        ) from None
    if not isinstance(loaded, dict):
        raise WorldError(f"{path.name} must be a mapping.")
    return loaded


def ninjaone_seed(raw: dict[str, Any]) -> dict[str, Any]:
    """The YAML seed in the stand-in's shape: sizes in GB and times in minutes ago become bytes and epoch seconds."""
    from sandbox.ninjaone_data import ago

    seed = {key: value for key, value in raw.items() if key not in {"devices", "alerts"}}
    seed["devices"] = []
    for device in raw.get("devices", []):
        device = dict(device)
        if "volumes" in device:
            device["volumes"] = [
                {"name": v["name"], "capacity": int(v["capacity_gb"] * GB), "freeSpace": int(v["free_gb"] * GB)}
                for v in device["volumes"]
            ]
        if "offline_minutes" in device:
            device["lastContact"] = ago(float(device.pop("offline_minutes")))
        seed["devices"].append(device)
    seed["alerts"] = [
        {
            **{k: v for k, v in alert.items() if k != "minutes_ago"},
            "createTime": ago(float(alert.get("minutes_ago", 30))),
        }
        for alert in raw.get("alerts", [])
    ]
    return seed


def _directory_contacts(graph_seed: dict[str, Any], tenant_id: str) -> None:
    """The client's staff are contacts the help desk already knows (a look-alike of their domain then is one)."""
    tenant = next((t for t in graph_seed["tenants"] if t["id"] == tenant_id), None)
    if tenant is None:
        raise WorldError(f"world.yaml names tenant {tenant_id}, which msgraph.yaml does not hold.")
    for user in tenant.get("users", []):
        Contact.objects.get_or_create(
            email=str(user["userPrincipalName"]).lower(), defaults={"name": user.get("displayName", "")}
        )


def _connect(client: Client, spec: dict[str, Any], world: dict[str, Any]) -> None:
    """The client's Microsoft 365 tenant and NinjaOne organization(s), through the connectors' real connect path."""
    graph, ninja, ninja_seed = world["graph"], world["ninja"], world["ninja_seed"]
    tenant = next(t for t in world["graph_seed"]["tenants"] if t["id"] == spec["tenant"])
    client_id, app = next(iter(tenant["apps"].items()))
    ninja_client, ninja_secret = next(iter(ninja_seed["clients"].items()))
    drafts = [
        microsoft365_draft(
            name="Microsoft 365",
            tenant_id=spec["tenant"],
            client_id=client_id,
            client_secret=app["secret"],
            authority=graph.base_url,
            graph_url=graph.base_url,
            ca_file=graph.ca_file,
        ),
        ninjaone_draft(
            name="NinjaOne",
            url=ninja.base_url,
            client_id=ninja_client,
            client_secret=ninja_secret,
            organizations=list(spec["ninjaone_organizations"]),
            allowed_scripts=list(spec.get("allowed_scripts") or []),
        ),
    ]
    for draft in drafts:
        connect_acting(client=client, draft=draft)


def _set_up_client(
    spec: dict[str, Any],
    *,
    slug: str,
    corpus: Path,
    world: dict[str, Any],
    knowledge_threshold: float | None,
    llm: LLMSettings | None,
    created: list[Client],
) -> tuple[Client, Any]:
    changes: dict[str, Any] = {}
    if "approval_threshold" in spec:
        changes["approval_threshold"] = int(spec["approval_threshold"])
    client = create_eval_client(name=f"Gaby eval ({spec['name']})", slug=slug, changes=changes)
    created.append(client)  # from here on a failure drops it with the others
    with tenant_context(client):
        source = prepare_inbox(
            client=client,
            pages=corpus / spec["knowledge"],
            help_center=f"{spec['name']} help center",
            knowledge_threshold=knowledge_threshold,
        )
        _directory_contacts(world["graph_seed"], spec["tenant"])
        for contact in spec.get("authorized_contacts", []):
            AuthorizedContact.objects.create(
                email=contact["email"].lower(), name=contact.get("name", ""), note=contact.get("note", "")
            )
        _connect(client, spec, world)
        if llm is not None:
            route_every_workflow(client, llm)
    return client, source


def build_msp(
    *,
    llm: LLMSettings | None = None,
    corpus: Path = MSP_CORPUS_DIR,
    slug: str = "",
    knowledge_threshold: float | None = None,
) -> Environment:
    """Start both stand-ins from the seeds and set up every client of ``world.yaml``; the first is ``env.client``,
    the others are ``env.others[key]``. ``close()`` stops the stand-ins and drops every client."""
    from sandbox.msgraph import GraphSandbox  # the stand-ins live beside the repo, not in the app image
    from sandbox.ninjaone import NinjaOneSandbox

    world_seed = load_seed(corpus, "world")
    specs = world_seed.get("clients")
    if not isinstance(specs, list) or not specs:
        raise WorldError("world.yaml: `clients` lists the MSP's customers (key, name, tenant, ...).")
    graph_seed, ninja_seed = load_seed(corpus, "msgraph"), ninjaone_seed(load_seed(corpus, "ninjaone"))
    graph, ninja = GraphSandbox(graph_seed), NinjaOneSandbox(ninja_seed)
    env: Environment | None = None
    base = slug or f"eval{secrets.token_hex(4)}"
    graph.start()
    try:
        ninja.start()
    except BaseException:
        graph.stop()
        raise
    world = {"graph": graph, "graph_seed": graph_seed, "ninja": ninja, "ninja_seed": ninja_seed}
    created: list[Client] = []
    try:
        for number, spec in enumerate(specs):
            client, source = _set_up_client(
                spec,
                slug=base if number == 0 else (base + str(spec["key"]))[:31],
                corpus=corpus,
                world=world,
                knowledge_threshold=knowledge_threshold,
                llm=llm,
                created=created,
            )
            if env is None:
                env = Environment(client=client, source=source)
                env.stack.callback(graph.stop)
                env.stack.callback(ninja.stop)
                env.sandboxes = {"msgraph": graph, "ninjaone": ninja}
            else:
                env.others[str(spec["key"])] = (client, source)
    except BaseException:
        # Half a world never outlives the run: the stand-ins stop and every client created so far is dropped,
        # including the one whose set-up failed (it is not in ``env`` yet).
        graph.stop()
        ninja.stop()
        drop_clients(created)
        raise
    assert env is not None
    return env
