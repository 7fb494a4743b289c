"""Timeline steps reach the client's open pages live (its channel group only), rendered by agent/_step.html."""

from __future__ import annotations

from typing import Any

import pytest
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

from apps.agent.context import RunContext
from apps.agent.contracts import Citation, StepKind
from apps.agent.investigations import start_investigation
from apps.agent.live import announce_step
from tenants.channels import tenant_group

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
        context = RunContext(investigation, source_autonomy=None, on_step=announce_step)
        citation = Citation(kind="knowledge", ref="c1", label="VPN runbook § Reset", url="https://kb.example/vpn")
        with django_capture_on_commit_callbacks(execute=True):
            context.record_step(StepKind.READ, system="knowledge", title="Searched <knowledge>",
                                data={"query": "vpn"}, citations=(citation,))  # fmt: skip
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
