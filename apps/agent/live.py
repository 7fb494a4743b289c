"""Live investigation events for the client's open pages (gaby_site/live.py relays them, shell.js swaps them).

A new timeline step is appended to ``#investigation-<id>-steps`` rendered with ``agent/_step.html``, the
same partial the detail page uses; a status change replaces ``#investigation-<id>-status``. Events go to
``tenant_group(schema, "live")`` only, so another client's sockets never receive them.
"""

from __future__ import annotations

import logging
from typing import Any

from django.db import connection
from django.template.loader import render_to_string

from tenants.channels import tenant_group
from tenants.publisher import group_send

log = logging.getLogger(__name__)


def _send(payload: dict[str, Any]) -> None:
    try:
        group = tenant_group(connection.schema_name, "live")  # type: ignore[attr-defined]
        group_send(group, {"type": "live.event", "payload": payload})
    except Exception:  # a live update is a courtesy: the step is committed and the page shows it on reload
        log.warning("live investigation event not sent", exc_info=True)


def step_html(step: Any) -> str:
    return render_to_string("agent/_step.html", {"step": step})


def announce_step(step: Any) -> None:
    _send(
        {
            "type": "swap",
            "target": f"#investigation-{step.investigation_id}-steps",
            "swap": "beforeend",
            "html": step_html(step),
        }
    )


def status_html(investigation: Any) -> str:
    return render_to_string("agent/_status.html", {"investigation": investigation})


def announce_investigation(investigation: Any) -> None:
    """``investigation`` as it now stands: the caller holds the row it just wrote, so nothing is read again."""
    _send(
        {
            "type": "swap",
            "target": f"#investigation-{investigation.pk}-status",
            "swap": "outerHTML",
            "html": status_html(investigation),
        }
    )
