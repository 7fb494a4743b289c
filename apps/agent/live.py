"""Live investigation events for the client's open pages (apps/core/live.py relays them, shell.js swaps them).

A new timeline step is appended to ``#investigation-<id>-steps`` rendered with ``agent/_step.html``, the
same partial the detail page uses; a status change replaces ``#investigation-<id>-status``. Events go to
``tenant_group(schema, "live")`` only, so another client's sockets never receive them.
"""

from __future__ import annotations

import time
from typing import Any

from django.template.loader import render_to_string

from apps.core.live import broadcast, pages_open


def step_html(step: Any) -> str:
    return render_to_string("agent/_step.html", {"step": step})


class RunAnnouncer:
    """The live events of one run (its status, each new step), asking whether a page is open at most once per
    ``RECHECK_SECONDS``.

    A run records a step every few tens of milliseconds; asking Redis each time cost a round trip per step.
    A page opened since the last answer misses at most that long of live steps, and the page's outcome poll
    (every 2 s while the run is active) brings the whole timeline, so nothing stays missing.
    """

    RECHECK_SECONDS = 1.0

    def __init__(self) -> None:
        self.checked_at: float | None = None
        self.open = False

    def _pages_open(self) -> bool:
        now = time.monotonic()
        if self.checked_at is None or now - self.checked_at >= self.RECHECK_SECONDS:
            self.open, self.checked_at = pages_open(), now
        return self.open

    def __call__(self, step: Any) -> None:
        """A new step: appended to the run's timeline on every open page (``RunContext(on_step=...)``)."""
        if self._pages_open():
            target = f"#investigation-{step.investigation_id}-steps"
            broadcast([{"type": "swap", "target": target, "swap": "beforeend", "html": step_html(step)}])

    def status(self, investigation: Any) -> None:
        if self._pages_open():
            _broadcast_status(investigation)


def status_html(investigation: Any) -> str:
    return render_to_string("agent/_status.html", {"investigation": investigation})


def announce_investigation(investigation: Any) -> None:
    """``investigation`` as it now stands: the caller holds the row it just wrote, so nothing is read again."""
    if pages_open():
        _broadcast_status(investigation)


def _broadcast_status(investigation: Any) -> None:
    target = f"#investigation-{investigation.pk}-status"
    broadcast([{"type": "swap", "target": target, "swap": "outerHTML", "html": status_html(investigation)}])
