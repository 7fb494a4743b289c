"""SAF-1/MSP-3: autonomy is set per client, per connector and per ticket source; the most restrictive wins."""

from pathlib import Path
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from apps.connectors.models import Connector, ConnectorTool, Kind
from apps.safety.enforcement import CallContext, build_action, run_tool
from apps.safety.models import ActionStatus
from apps.safety.policy import Autonomy, decide
from apps.tickets import services as tickets
from apps.tickets.models import TicketSource
from tenants.models import Client
from tests.safety.conftest import balances

CLIENT_LEVELS = {"investigate": Autonomy.INVESTIGATE, "review": Autonomy.PROPOSE, "auto": Autonomy.ACT}
LEVELS = ["investigate", "propose", "act"]


def _facts(client_level: str, connector_level: str, source_level: str, explicit: str | None, tool_access: str) -> Any:
    client = Client(autonomy=client_level, approval_threshold=100)
    connector = Connector(kind=Kind.MCP_STDIO, name="Ledger", autonomy=connector_level, scope="read_write")
    tool = ConnectorTool(connector=connector, name="credit", access=tool_access, read_only_hint=tool_access == "read")
    source = TicketSource(name="Portal", autonomy=source_level)
    context = CallContext(idempotency_key="p", source=source, source_autonomy=explicit)
    return build_action(client, connector, tool, "credit", {"account": "acme"}, context)


@given(
    client_level=st.sampled_from(list(CLIENT_LEVELS)),
    connector_level=st.sampled_from(LEVELS),
    source_level=st.sampled_from(["", *LEVELS]),
    explicit=st.sampled_from([None, *LEVELS]),
    tool_access=st.sampled_from(["read", "write"]),
)
def test_the_most_restrictive_autonomy_wins(
    client_level: str, connector_level: str, source_level: str, explicit: str | None, tool_access: str
) -> None:
    action = _facts(client_level, connector_level, source_level, explicit, tool_access)
    levels = [CLIENT_LEVELS[client_level], Autonomy(connector_level)]
    levels += [Autonomy(level) for level in (source_level, explicit) if level]
    assert action.autonomy is min(levels, key=lambda level: level.rank)
    # Adding a ticket source can only make the outcome stricter, never looser.
    unlimited = _facts(client_level, connector_level, "", None, tool_access)
    with_source, without = decide(action, []), decide(unlimited, [])
    assert with_source.outcome.permissiveness <= without.outcome.permissiveness
    if tool_access == "write" and Autonomy.INVESTIGATE in levels:
        assert with_source.outcome == "deny"


def test_run_tool_applies_the_sources_autonomy(ledger: Any, ledger_file: Path, in_hartwell: Client) -> None:
    Client.objects.filter(pk=in_hartwell.pk).update(autonomy="auto", approval_threshold=100)
    in_hartwell.refresh_from_db()
    connector = ledger(autonomy="act")
    cautious = tickets.create_source(client=in_hartwell, kind="webhook", name="Public form", config={})
    TicketSource.objects.filter(pk=cautious.pk).update(autonomy="investigate")
    cautious.refresh_from_db()
    trusted = tickets.create_source(client=in_hartwell, kind="webhook", name="Staff portal", config={})

    def credit(key: str, source: TicketSource) -> Any:
        return run_tool(
            connector=connector,
            tool_name="credit",
            arguments={"account": "acme", "amount": 3},
            context=CallContext(idempotency_key=key, source=source),
        )

    denied = credit("s1", cautious)
    assert denied.status == ActionStatus.DENIED and "Investigate mode" in denied.reason
    assert credit("s2", trusted).status == ActionStatus.DONE  # no limit of its own: the client's act applies
    assert balances(ledger_file) == {"acme": 103}
