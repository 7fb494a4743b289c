"""Timeline steps reach the client's open pages live (its channel group only), rendered by agent/_step.html."""

from __future__ import annotations

from typing import Any

import pytest
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

from apps.agent.context import RunContext
from apps.agent.contracts import Citation, StepKind
from apps.agent.investigations import start_investigation
from apps.agent.live import RunAnnouncer
from apps.core.channels import tenant_group

pytestmark = pytest.mark.django_db


def test_a_step_is_swapped_into_the_clients_pages_only(
    make_ticket: Any, in_hartwell: Any, django_capture_on_commit_callbacks: Any
) -> None:
    layer = get_channel_layer()
    hartwell = async_to_sync(layer.new_channel)()
    dearborn = async_to_sync(layer.new_channel)()
    async_to_sync(layer.group_add)(tenant_group("hartwell", "live"), hartwell)
    async_to_sync(layer.group_add)(tenant_group("dearborn", "live"), dearborn)
    try:
        investigation = start_investigation(ticket=make_ticket())
        context = RunContext(investigation, source_autonomy=None, on_step=RunAnnouncer())
        citation = Citation(kind="knowledge", ref="c1", label="VPN runbook § Reset", url="https://kb.example/vpn")
        with django_capture_on_commit_callbacks(execute=True):
            context.record_step(
                StepKind.READ,
                system="knowledge",
                title="Searched <knowledge>",
                data={"query": "vpn"},
                citations=(citation,),
            )
        event = async_to_sync(layer.receive)(hartwell)
        payload = event["payload"]
        assert payload["type"] == "swap" and payload["target"] == f"#investigation-{investigation.pk}-steps"
        assert payload["swap"] == "beforeend" and 'data-testid="investigation-step"' in payload["html"]
        assert "Searched &lt;knowledge&gt;" in payload["html"] and 'href="https://kb.example/vpn"' in payload["html"]
        with pytest.raises(TimeoutError):
            async_to_sync(_receive_within)(layer, dearborn, 0.3)
    finally:
        async_to_sync(layer.group_discard)(tenant_group("hartwell", "live"), hartwell)
        async_to_sync(layer.group_discard)(tenant_group("dearborn", "live"), dearborn)


async def _receive_within(layer: Any, channel: str, seconds: float) -> Any:
    import asyncio

    return await asyncio.wait_for(layer.receive(channel), seconds)


def test_a_step_announced_while_no_page_was_open_arrives_with_the_outcome_poll(
    make_ticket: Any, in_hartwell: Any, as_user: Any, django_capture_on_commit_callbacks: Any
) -> None:
    """A run asks whether a page is open once a second, not per step: a page opened meanwhile misses the live
    event, and its outcome poll (every 2 s while the run is active) brings the whole timeline out of band."""
    layer = get_channel_layer()
    investigation = start_investigation(ticket=make_ticket())
    context = RunContext(investigation, source_autonomy=None, on_step=RunAnnouncer())
    with django_capture_on_commit_callbacks(execute=True):
        context.record_step(StepKind.READ, system="gaby", title="Read the ticket")
    page = async_to_sync(layer.new_channel)()
    async_to_sync(layer.group_add)(tenant_group("hartwell", "live"), page)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            context.record_step(StepKind.QUERY, system="billing", title="Looked up the plan")
        with pytest.raises(TimeoutError):  # within the second: this run still believes no page is open
            async_to_sync(_receive_within)(layer, page, 0.3)
    finally:
        async_to_sync(layer.group_discard)(tenant_group("hartwell", "live"), page)
    poll = as_user("bob", "hartwell").get(f"/investigations/{investigation.pk}/outcome/", HTTP_HX_REQUEST="true")
    html = poll.content.decode()
    assert poll.status_code == 200 and f'id="investigation-{investigation.pk}-steps"' in html
    assert 'hx-swap-oob="true"' in html and "Read the ticket" in html and "Looked up the plan" in html
