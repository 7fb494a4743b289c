"""Shared helpers for the Keycloak and Stripe connector tests: call tools through the one enforcement point."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import pytest

from apps.connectors.host import host
from apps.connectors.models import Connector
from apps.safety.enforcement import CallContext, run_tool
from apps.safety.models import ToolAction
from tenants.models import Client

if TYPE_CHECKING:
    from sandbox.msgraph import GraphSandbox

_counter = iter(range(1_000_000))
# The Microsoft 365 server's tools (apps/connectors/servers/microsoft365), as its listing must show them.
M365_READS = frozenset(
    {"health_check", "find_user", "find_group", "sign_in_state", "list_auth_methods", "list_licenses"}
    | {"list_groups", "list_devices", "self_service_reset"}
)
M365_WRITES = frozenset(
    {"reset_password", "revoke_sessions", "reset_mfa", "set_account_enabled", "assign_license", "remove_license"}
    | {"add_group_member", "remove_group_member", "sync_device", "restart_device", "retire_device", "wipe_device"}
)


def call(connector: Connector, tool: str, key: str | None = None, **arguments: Any) -> ToolAction:
    """One tool call through ``run_tool`` with a fresh idempotency key (or the one given)."""
    context = CallContext(idempotency_key=key or f"{tool}-{next(_counter)}", purpose="test")
    return run_tool(connector=connector, tool_name=tool, arguments=arguments, context=context)


def result(action: ToolAction) -> Any:
    """The JSON the tool returned (its text), for actions that succeeded or were dry runs."""
    assert not action.result_is_error, action.result_text
    return json.loads(action.result_text)


def allow_writes(client: Client, connector: Connector, *, scope: str = "read_write") -> Connector:
    """The client and connector settings under which writes run at once (or only as dry runs)."""
    Client.objects.filter(pk=client.pk).update(autonomy="auto", approval_threshold=100)
    client.refresh_from_db()
    Connector.objects.filter(pk=connector.pk).update(scope=scope, autonomy="act")
    connector.refresh_from_db()
    return connector


@pytest.fixture(autouse=True)
def close_sessions() -> Iterator[None]:
    """Each test's connector servers end with the test (their stand-in is gone), not at interpreter exit."""
    yield
    host().shutdown()


def connect_demo_m365(client: Client, actor: Any, graph: GraphSandbox, **settings: Any) -> Connector:
    """Hartwell's demo Microsoft 365 tenant on the Graph stand-in, connected for ``client`` with writes allowed;
    ``settings``: more of ``microsoft365_draft``'s (``sspr_methods``)."""
    from apps.connectors import services
    from apps.connectors.specs import microsoft365_draft
    from sandbox.msgraph_data import DEMO_CLIENT_ID, HARTWELL

    draft = microsoft365_draft(
        name="Microsoft 365",
        tenant_id=HARTWELL,
        client_id=DEMO_CLIENT_ID,
        client_secret="hartwell-demo-secret",
        authority=graph.base_url,
        graph_url=graph.base_url,
        ca_file=graph.ca_file,
        **settings,
    )
    return allow_writes(client, services.connect(client=client, draft=draft, actor=actor))
