"""The demo MSP's stack: each demo client on Microsoft 365 (its own Entra ID tenant) and NinjaOne (its own
organization), through the local stand-ins ``./gaby run`` starts, with the gate set the way the MSP playbooks act.

- Microsoft 365: one connector per client on the MSP's multi-tenant app registration, scoped to that client's
  tenant (its own secret there), connected like any other: tested, tools stored, consent recorded.
- NinjaOne: the MSP's one API client app, its organizations mapped onto the clients by the same code as
  ``gaby connect-ninjaone --map`` (``apps/connectors/ninjaone_mapping.py``): one connector per client, limited to
  its organization, with "Disk Cleanup" as the script Gaby may run without an approver.
- The gate (MSP-3, per-client autonomy): both connectors act within scope (read and write); Hartwell lets Gaby
  apply fixes below risk 70 (ending sessions, restarting a spooler), Dearborn reviews every change. Wipes,
  retires and library scripts wait for a person whatever the threshold (their servers say so), except a script
  the NinjaOne connector allows (Disk Cleanup): the disk clean-up playbook runs it through run_allowed_script,
  under the client's ordinary threshold.

Re-running adds nothing: the connectors are found by name; a stand-in on another port repoints them (tested
again). The client settings and playbook switches are set only when the client's stack is first made, so an
Admin's later changes are kept. Without the stand-ins (``GABY_DEMO_STANDINS=0``) the demo connectors are revoked,
and they come back on the next run with them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django_tenants.utils import tenant_context

from apps.agent.playbooks.library import shipped
from apps.agent.playbooks.models import ClientPlaybook
from apps.agent.playbooks.services import set_enabled as set_playbook_enabled
from apps.connectors import ninjaone_mapping, services
from apps.connectors.calls import ConnectorError
from apps.connectors.drafts import draft_of
from apps.connectors.models import AutonomyLevel, Connector, Kind, ScopeMode
from apps.connectors.specs import Draft, microsoft365_draft, ninjaone_draft
from apps.safety.services import configure_connector
from gaby_site.demo_standins import BANNER_TITLE, DemoStandIns
from tenants.models import Autonomy, Client
from tenants.services import update_client_settings

GRAPH_NAME = "Microsoft 365 (demo stand-in)"
NINJA_NAME = "NinjaOne (demo stand-in)"
ALLOWED_SCRIPTS = ["Disk Cleanup"]
MSP_KINDS = frozenset({Kind.MICROSOFT365, Kind.NINJAONE})
GATE: dict[str, dict[str, object]] = {
    "hartwell": {"autonomy": Autonomy.AUTO, "approval_threshold": 70},
    "dearborn": {"autonomy": Autonomy.REVIEW, "approval_threshold": 50},
}
STANDIN_WAIT_S = 30.0


class DemoStackError(RuntimeError):
    """The demo clients could not be connected to the stand-ins; the message says what to do."""


@dataclass
class MspStack:
    """What the seeding found or made, per client slug."""

    connectors: dict[str, list[Connector]] = field(default_factory=dict)
    made: list[tuple[str, Connector]] = field(default_factory=list)  # connectors this run created

    @property
    def new_clients(self) -> set[str]:
        """Clients whose Microsoft 365 connector this run created: their stack is new."""
        return {slug for slug, connector in self.made if connector.kind == Kind.MICROSOFT365}


def msp_playbooks() -> list[str]:
    """The shipped playbooks that need a Microsoft 365 or NinjaOne connector."""
    return sorted(
        entry.name for entry in shipped() if entry.playbook is not None and set(entry.playbook.connectors) & MSP_KINDS
    )


def seed_msp(clients: dict[str, Client], standins: DemoStandIns | None) -> MspStack:
    """Connect the demo clients to the stand-ins (or revoke those connectors when the stand-ins are off)."""
    from sandbox.msp_demo import DEMO_TENANTS  # the stand-ins live beside the repo, not in the app image

    stack = MspStack()
    if standins is None:
        for client in clients.values():
            with tenant_context(client):
                for connector in Connector.objects.filter(name__in=(GRAPH_NAME, NINJA_NAME), enabled=True):
                    services.set_enabled(connector=connector, enabled=False, actor=None)
        return stack
    _wait_for(standins)
    demo = {slug: client for slug, client in clients.items() if slug in DEMO_TENANTS}
    try:
        for slug, client in demo.items():
            with tenant_context(client):
                connector, made = _microsoft365(client, standins, slug)
            stack.connectors[slug] = [connector]
            if made:
                stack.made.append((slug, connector))
        for slug, (connector, made) in _ninjaone(demo, standins).items():
            stack.connectors.setdefault(slug, []).append(connector)
            if made:
                stack.made.append((slug, connector))
    except (ValidationError, ConnectorError, ninjaone_mapping.MappingError) as exc:
        reason = "; ".join(exc.messages) if isinstance(exc, ValidationError) else str(exc)
        raise DemoStackError(
            f"Connecting the demo clients to the Microsoft 365 / NinjaOne stand-ins failed: {reason}. "
            "GABY_DEMO_STANDINS=0 runs the demo without them."
        ) from exc
    for slug, connector in stack.made:
        with tenant_context(demo[slug]):
            configure_connector(
                connector=connector,
                autonomy=AutonomyLevel.ACT,
                scope=ScopeMode.READ_WRITE,
                is_production=False,
                actor=None,
            )
    for slug in stack.new_clients:
        with tenant_context(demo[slug]):
            _configure_client(demo[slug], slug)
    return stack


def _wait_for(standins: DemoStandIns) -> None:
    silent = standins.wait_until_answering(STANDIN_WAIT_S)
    if silent:
        where = ", ".join(f"{name} on {standins.host}:{standins.ports()[name]}" for name in silent)
        raise DemoStackError(
            f"The demo's stand-ins do not answer ({where}): start Gaby with ./gaby run, or leave them out with "
            "GABY_DEMO_STANDINS=0."
        )


def _graph_draft(slug: str, standins: DemoStandIns) -> Draft:
    from sandbox.msp_demo import DEMO_TENANTS, GRAPH_CLIENT_ID, graph_secret

    return microsoft365_draft(
        name=GRAPH_NAME,
        tenant_id=DEMO_TENANTS[slug].tenant_id,
        client_id=GRAPH_CLIENT_ID,
        client_secret=graph_secret(slug),
        authority=standins.graph_url,
        graph_url=standins.graph_url,
        ca_file=str(standins.ca_file),
    )


def _ninja_given(standins: DemoStandIns) -> dict[str, str]:
    from sandbox.msp_demo import NINJA_CLIENT_ID, ninjaone_secret

    return {"url": standins.ninjaone_url, "client_id": NINJA_CLIENT_ID, "client_secret": ninjaone_secret()}


def _ninja_draft(slug: str, standins: DemoStandIns) -> Draft:
    from sandbox.msp_demo import DEMO_TENANTS

    organization = [DEMO_TENANTS[slug].organization]
    return ninjaone_draft(
        name=NINJA_NAME, organizations=organization, allowed_scripts=ALLOWED_SCRIPTS, **_ninja_given(standins)
    )


def connected(clients: dict[str, Client], standins: DemoStandIns) -> bool:
    """Whether every demo client has both demo connectors, set as the stand-ins are now: then seeding them tests
    no connection (a run after the first), and ``gaby bootstrap`` does it at once."""
    from sandbox.msp_demo import DEMO_TENANTS

    for slug, client in clients.items():
        if slug not in DEMO_TENANTS:
            continue
        with tenant_context(client):
            for name, draft in ((GRAPH_NAME, _graph_draft(slug, standins)), (NINJA_NAME, _ninja_draft(slug, standins))):
                connector = Connector.objects.filter(name=name).first()
                if connector is None or draft_of(connector, client).settings != draft.settings:
                    return False
    return True


def _microsoft365(client: Client, standins: DemoStandIns, slug: str) -> tuple[Connector, bool]:
    draft = _graph_draft(slug, standins)
    existing = Connector.objects.filter(name=GRAPH_NAME).first()
    if existing is not None:
        return _current(client, existing, draft), False
    return services.connect(client=client, draft=draft, actor=None, operator=True), True


def _ninjaone(clients: dict[str, Client], standins: DemoStandIns) -> dict[str, tuple[Connector, bool]]:
    """Each client's NinjaOne connector: the missing ones made in one mapping, the others repointed if needed."""
    from sandbox.msp_demo import DEMO_TENANTS

    found: dict[str, tuple[Connector, bool]] = {}
    mapping: dict[int, Client] = {}
    for slug, client in clients.items():
        with tenant_context(client):
            existing = Connector.objects.filter(name=NINJA_NAME).first()
            if existing is not None:
                found[slug] = (_current(client, existing, _ninja_draft(slug, standins)), False)
            elif not Connector.objects.filter(kind=Kind.NINJAONE).exists():  # an Admin's own NinjaOne stays alone
                mapping[DEMO_TENANTS[slug].organization] = client
    if mapping:
        made = ninjaone_mapping.connect_clients(
            _ninja_given(standins), mapping=mapping, name=NINJA_NAME, allowed_scripts=ALLOWED_SCRIPTS
        )
        slugs = {client.pk: slug for slug, client in clients.items()}
        found |= {slugs[item.client.pk]: (item.connector, True) for item in made}
    return found


def _current(client: Client, connector: Connector, draft: Draft) -> Connector:
    """The stored demo connector, repointed when the stand-in moved, and enabled again if it was revoked."""
    if draft_of(connector, client).settings != draft.settings:
        connector = services.reconfigure(client=client, connector=connector, draft=draft, actor=None, operator=True)
    return services.set_enabled(connector=connector, enabled=True, actor=None)


def _configure_client(client: Client, slug: str) -> None:
    """The first time a client's stack is made: its autonomy and threshold, and the MSP playbooks switched on
    (shipped ones are on unless an Admin switched them off)."""
    update_client_settings(client=client, changes=GATE[slug], actor=None)
    for name in msp_playbooks():
        if ClientPlaybook.objects.filter(name=name, enabled=False).exists():
            set_playbook_enabled(name=name, enabled=True, actor=None)


def banner_lines(
    standins: DemoStandIns | None, stack: MspStack, clients: dict[str, Client], *, mail_on: bool
) -> list[str]:
    """What ``./gaby run`` prints about the MSP stack: where the stand-ins answer, each client's gate, the examples."""
    if standins is None:
        return []
    from sandbox.msp_demo import DEMO_TENANTS
    from tenants.demo_examples import EXAMPLES

    lines = [f"{BANNER_TITLE} (local stand-ins; Graph {standins.graph_url}, NinjaOne {standins.ninjaone_url}):"]
    for slug, client in clients.items():
        if slug not in stack.connectors:
            continue
        client.refresh_from_db(fields=["autonomy", "approval_threshold"])
        gate = (
            f"acts below risk {client.approval_threshold}"
            if client.autonomy == Autonomy.AUTO
            else f"autonomy {client.get_autonomy_display().lower()}"
        )
        tenant = DEMO_TENANTS[slug]
        lines.append(
            f"  {client.name:<14} Entra ID {tenant.domain}, NinjaOne organization {tenant.organization}; {gate}"
        )
    if mail_on:
        names = list(EXAMPLES)
        lines.append(f"  Send an MSP ticket: ./gaby manage gaby demo-mail send --example {names[0]}")
        lines.append(f"  (other examples: {', '.join(names[1:])}; ./gaby manage gaby demo-mail examples lists them)")
    return lines
