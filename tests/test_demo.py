"""The demo MSP (issues 4 and 23): each demo client with its own knowledge, and its Microsoft 365 and NinjaOne
connectors on the stand-ins ``./gaby run`` starts — started here with the very commands the launcher supervises,
connected through the real MCP host, and investigated from an email that went through the demo mail server."""

from __future__ import annotations

import ssl
import subprocess
from collections.abc import Iterator
from dataclasses import replace
from io import StringIO
from pathlib import Path
from typing import Any

import httpx
import pytest
from django.core.management import call_command
from django_tenants.utils import tenant_context

from apps.agent.models import Investigation
from apps.agent.playbooks.library import catalog
from apps.connectors.drafts import draft_of
from apps.connectors.models import Connector, ConnectorEvent, Kind
from apps.knowledge.models import KnowledgeSource
from apps.safety.models import ActionStatus, ToolAction
from apps.tickets import polling
from apps.tickets.models import Ticket, TicketSource
from gaby_site import launcher
from gaby_site.demo_mail import DemoMail
from gaby_site.demo_standins import DemoStandIns
from sandbox import msp_demo
from tenants.demo import DEMO_KNOWLEDGE, DEMO_MAIL_SOURCE, seed_demo_mail, seed_knowledge
from tenants.demo_examples import EXAMPLES
from tenants.demo_msp import GRAPH_NAME, NINJA_NAME, connected, msp_playbooks, seed_msp
from tenants.services import update_client_settings
from tests.agent.helpers import investigate
from tests.tickets.conftest import free_port


def test_each_demo_client_gets_its_own_help_center_once(hartwell: Any, dearborn: Any) -> None:
    seed_knowledge({"hartwell": hartwell, "dearborn": dearborn})
    seed_knowledge({"hartwell": hartwell, "dearborn": dearborn})  # a second run adds nothing
    with tenant_context(hartwell):
        [source] = KnowledgeSource.objects.all()
        assert source.config["path"] == str(DEMO_KNOWLEDGE / "hartwell") and source.status == "queued"
    with tenant_context(dearborn):
        [source] = KnowledgeSource.objects.all()
        assert source.config["path"] == str(DEMO_KNOWLEDGE / "dearborn")
    assert sorted(p.name for p in (DEMO_KNOWLEDGE / "hartwell").glob("*.md")) == [
        "email-and-mfa.md",
        "printing.md",
        "vpn.md",
    ]


def _start(commands: dict[str, list[str]]) -> list[subprocess.Popen[bytes]]:
    return [subprocess.Popen(command, cwd=launcher.ROOT) for command in commands.values()]


def _stop(procs: list[subprocess.Popen[bytes]]) -> None:
    for proc in procs:
        proc.terminate()
    for proc in procs:
        proc.wait(timeout=15)


@pytest.fixture(scope="module")
def standins(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoStandIns]:
    """The Graph and NinjaOne stand-ins, started with the launcher's own commands."""
    placed = DemoStandIns(tmp_path_factory.mktemp("standins"), graph_port=free_port(), ninjaone_port=free_port())
    procs = _start(launcher.standin_commands(placed))
    silent = placed.wait_until_answering(30)
    if silent:
        _stop(procs)
        raise RuntimeError(f"the demo stand-ins did not start: {silent}")
    yield placed
    _stop(procs)


@pytest.fixture(scope="module")
def demo_mail(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoMail]:
    mail = DemoMail(data_dir=tmp_path_factory.mktemp("mail"), imap_port=free_port(), smtp_port=free_port())
    mail.accounts()
    procs = _start({"mail": launcher.process_commands("127.0.0.1", 8000, mail)["mail"]})
    assert all(launcher.wait_for_port(mail.host, port, 30, procs) for port in (mail.imap_port, mail.smtp_port))
    yield mail
    _stop(procs)


@pytest.fixture
def clients(hartwell: Any, dearborn: Any) -> dict[str, Any]:
    return {"hartwell": hartwell, "dearborn": dearborn}


def _demo_connectors(client: Any) -> dict[str, Connector]:
    with tenant_context(client):
        return {c.kind: c for c in Connector.objects.filter(name__in=(GRAPH_NAME, NINJA_NAME))}


def test_each_client_is_connected_to_its_own_tenant_and_organization_once(
    clients: dict[str, Any], standins: DemoStandIns
) -> None:
    assert not connected(clients, standins)
    stack = seed_msp(clients, standins)
    assert sorted(slug for slug, _ in stack.made) == ["dearborn", "dearborn", "hartwell", "hartwell"]
    assert connected(clients, standins)  # a later `gaby bootstrap` brings them up to date itself
    for slug, client in clients.items():
        found = _demo_connectors(client)
        assert set(found) == {Kind.MICROSOFT365, Kind.NINJAONE}
        with tenant_context(client):
            graph = draft_of(found[Kind.MICROSOFT365], client).settings
            ninja = draft_of(found[Kind.NINJAONE], client).settings
            assert graph["tenant_id"] == msp_demo.DEMO_TENANTS[slug].tenant_id
            assert graph["client_id"] == msp_demo.GRAPH_CLIENT_ID and graph["graph_url"] == standins.graph_url
            assert ninja["organizations"] == [msp_demo.DEMO_TENANTS[slug].organization]
            assert ninja["url"] == standins.ninjaone_url and ninja["allowed_scripts"] == ["Disk Cleanup"]
            for connector in found.values():
                assert (connector.autonomy, connector.scope, connector.enabled) == ("act", "read_write", True)
                assert connector.tools.filter(present=True).count() >= 10
            active = {playbook.name for playbook in catalog().active}
            assert set(msp_playbooks()) <= active
            assert {"m365-sign-in-help", "ninjaone-print-spooler", "m365-unlicensed-office"} <= set(msp_playbooks())
        client.refresh_from_db()
    assert (clients["hartwell"].autonomy, clients["hartwell"].approval_threshold) == ("auto", 70)
    assert clients["dearborn"].autonomy == "review"

    # A second run makes nothing, changes nothing, and keeps an Admin's own settings.
    update_client_settings(client=clients["hartwell"], changes={"approval_threshold": 55}, actor=None)
    events = {slug: _events(client) for slug, client in clients.items()}
    again = seed_msp(clients, standins)
    assert again.made == [] and {slug: _events(client) for slug, client in clients.items()} == events
    for client in clients.values():
        with tenant_context(client):
            assert Connector.objects.count() == 2
    clients["hartwell"].refresh_from_db()
    assert clients["hartwell"].approval_threshold == 55


def _events(client: Any) -> int:
    with tenant_context(client):
        return ConnectorEvent.objects.count()


def test_a_stand_in_on_another_port_is_followed_and_an_absent_one_revokes_the_demo_connectors(
    clients: dict[str, Any], standins: DemoStandIns, tmp_path: Path
) -> None:
    seed_msp(clients, standins)
    moved = replace(standins, ninjaone_port=free_port())
    procs = _start({"ninjaone": launcher.standin_commands(moved)["ninjaone"]})
    try:
        assert moved.wait_until_answering(30) == []
        assert not connected(clients, moved)
        seed_msp(clients, moved)
        assert connected(clients, moved)
    finally:
        _stop(procs)
    for client in clients.values():
        ninja = _demo_connectors(client)[Kind.NINJAONE]
        with tenant_context(client):
            assert draft_of(ninja, client).settings["url"] == moved.ninjaone_url
            latest = ConnectorEvent.objects.filter(connector=ninja).order_by("-created_at").first()
            assert latest is not None and "changed its settings (settings:url)" in latest.summary
            assert Connector.objects.count() == 2

    seed_msp(clients, None)  # GABY_DEMO_STANDINS=0: nothing would answer them
    assert not any(c.enabled for client in clients.values() for c in _demo_connectors(client).values())
    seed_msp(clients, standins)  # the next run with the stand-ins
    assert all(c.enabled for client in clients.values() for c in _demo_connectors(client).values())


def test_the_people_the_demo_mentions_exist_where_the_playbooks_look_for_them() -> None:
    for example in EXAMPLES.values():
        assert example.email in {person.email for person in msp_demo.people(example.client)}, example
    for slug, tenant in msp_demo.DEMO_TENANTS.items():
        staff = {person.email.split("@")[0] for person in msp_demo.people(slug)}
        computers = msp_demo.windows_users(tenant.organization)
        assert computers and set(computers.values()) <= staff, (slug, computers)


def _send_and_investigate(example: str, clients: dict[str, Any], mail: DemoMail) -> Investigation:
    """The example as ``gaby demo-mail send --example`` sends it, picked up by the client's demo mail source and
    investigated as the worker would."""
    client = clients[EXAMPLES[example].client]
    call_command("gaby", "demo-mail", "send", "--example", example, "--wait", "0", stdout=StringIO())
    with tenant_context(client):
        polling.poll(TicketSource.objects.get(name=DEMO_MAIL_SOURCE).pk)
        ticket = Ticket.objects.get(title=EXAMPLES[example].subject)
        assert ticket.contact is not None and ticket.contact.email == EXAMPLES[example].email
        return investigate(ticket)


@pytest.fixture
def msp_demo_world(
    clients: dict[str, Any],
    standins: DemoStandIns,
    demo_mail: DemoMail,
    settings: Any,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> dict[str, Any]:
    settings.DATA_DIR = demo_mail.data_dir  # where `gaby demo-mail` finds the mailbox passwords
    monkeypatch.setenv("GABY_DEMO_MAIL_IMAP_PORT", str(demo_mail.imap_port))
    monkeypatch.setenv("GABY_DEMO_MAIL_SMTP_PORT", str(demo_mail.smtp_port))
    settings.MEDIA_ROOT = tmp_path / "media"
    seed_demo_mail(clients, demo_mail)
    seed_msp(clients, standins)
    return clients


def _graph_user(standins: DemoStandIns, upn: str, fields: str) -> dict[str, Any]:
    """The user as Graph has it now, read with the demo app's own credentials."""
    tenant = msp_demo.DEMO_TENANTS["hartwell"]
    trust = ssl.create_default_context(cafile=str(standins.ca_file))
    with httpx.Client(verify=trust, base_url=standins.graph_url) as http:
        token = http.post(
            f"/{tenant.tenant_id}/oauth2/v2.0/token",
            data={
                "grant_type": "client_credentials",
                "client_id": msp_demo.GRAPH_CLIENT_ID,
                "client_secret": msp_demo.graph_secret("hartwell"),
                "scope": f"{standins.graph_url}/.default",
            },
        ).json()["access_token"]
        user = http.get(
            f"/v1.0/users/{upn}", params={"$select": fields}, headers={"Authorization": f"Bearer {token}"}
        ).json()
    assert isinstance(user, dict)
    return user


def test_outlook_asking_for_the_password_is_investigated_against_entra_id(
    msp_demo_world: dict[str, Any], standins: DemoStandIns, demo_mail: DemoMail
) -> None:
    upn = EXAMPLES["outlook"].email
    before = _graph_user(standins, upn, "signInSessionsValidFromDateTime")["signInSessionsValidFromDateTime"]
    investigation = _send_and_investigate("outlook", msp_demo_world, demo_mail)
    with tenant_context(msp_demo_world["hartwell"]):
        steps = [(step.system, step.title) for step in investigation.steps.order_by("ordinal")]
        assert investigation.decided_by == "playbook:m365-sign-in-help", steps
        assert investigation.verdict == "auto_resolved", investigation.escalation_reason
        graph_steps = [title for system, title in steps if system == GRAPH_NAME]
        assert graph_steps == [f"{GRAPH_NAME}: {tool}" for tool in ("find_user", "sign_in_state", "revoke_sessions")]
        revoke = ToolAction.objects.get(tool_name="revoke_sessions")
        assert revoke.status == ActionStatus.DONE and revoke.connector.kind == Kind.MICROSOFT365
        assert "We ended your old sessions" in " ".join(investigation.reply.split())
    after = _graph_user(standins, upn, "signInSessionsValidFromDateTime")["signInSessionsValidFromDateTime"]
    assert after != before  # the stand-in's Entra ID really ended Margaret's sessions


def test_the_other_msp_examples_reach_their_playbooks(msp_demo_world: dict[str, Any], demo_mail: DemoMail) -> None:
    expected = {
        "printer": ("ninjaone-print-spooler", "auto_resolved", "restart_service", ActionStatus.DONE),
        "office": ("m365-unlicensed-office", "needs_l2", "list_licenses", ActionStatus.DONE),
        # Dearborn reviews every change: the same sign-out waits for a person there.
        "outlook-dearborn": ("m365-sign-in-help", "needs_l2", "revoke_sessions", ActionStatus.AWAITING_APPROVAL),
        # Business Premium: Entra ID reports she can reset it herself, so nothing waits for anyone.
        "password-dearborn": ("m365-password-reset", "auto_resolved", "self_service_reset", ActionStatus.DONE),
    }
    for example, (playbook, verdict, tool, status) in expected.items():
        investigation = _send_and_investigate(example, msp_demo_world, demo_mail)
        with tenant_context(msp_demo_world[EXAMPLES[example].client]):
            assert investigation.decided_by == f"playbook:{playbook}", (example, investigation.escalation_reason)
            assert investigation.verdict == verdict, (example, investigation.escalation_reason)
            assert ToolAction.objects.get(tool_name=tool).status == status, example
    with tenant_context(msp_demo_world["hartwell"]):
        reason = Investigation.objects.get(ticket__title=EXAMPLES["office"].subject).escalation_reason
        assert "no licence with the Office apps" in reason and "O365_BUSINESS_PREMIUM 3" in reason
