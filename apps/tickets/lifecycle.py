"""The ticket status lifecycle: which moves are allowed, enforced by ``services.change_status``."""

from __future__ import annotations

from apps.tickets.models import Status

ALLOWED_TRANSITIONS: dict[str, frozenset[str]] = {
    Status.NEW: frozenset({Status.OPEN, Status.PENDING, Status.ON_HOLD, Status.SOLVED, Status.CLOSED}),
    Status.OPEN: frozenset({Status.PENDING, Status.ON_HOLD, Status.SOLVED, Status.CLOSED}),
    Status.PENDING: frozenset({Status.OPEN, Status.ON_HOLD, Status.SOLVED, Status.CLOSED}),
    Status.ON_HOLD: frozenset({Status.OPEN, Status.PENDING, Status.SOLVED, Status.CLOSED}),
    # A solved ticket reopens when the customer writes again or an agent reopens it.
    Status.SOLVED: frozenset({Status.OPEN, Status.CLOSED}),
    # Closed is final for agents; a later inbound message is still appended so nothing is lost.
    Status.CLOSED: frozenset(),
}


class TransitionError(ValueError):
    """A status move the lifecycle does not allow; the message says which moves are."""


def check_transition(current: str, target: str) -> None:
    if target not in Status.values:
        raise TransitionError(f"Unknown status {target!r}; use one of: {', '.join(Status.values)}.")
    if current == target:
        return
    allowed = ALLOWED_TRANSITIONS[current]
    if target not in allowed:
        options = ", ".join(Status(s).label for s in allowed_targets(current)) or "none (closed is final)"
        now, wanted = Status(current).label.lower(), Status(target).label.lower()
        raise TransitionError(f"A {now} ticket cannot become {wanted}; allowed: {options}.")


def allowed_targets(current: str) -> list[str]:
    return [s for s in Status.values if s in ALLOWED_TRANSITIONS[current]]
