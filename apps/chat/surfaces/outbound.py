"""How a surface posts in its threads: the ``Outbound`` protocol each platform registers, and its errors."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from apps.chat.models import ChatSurfaceInstall, Conversation


@dataclass(frozen=True)
class Action:
    """A button under a posted message: a link (``url``) or an interaction the platform sends back (``value``)."""

    label: str
    action_id: str
    url: str = ""
    value: str = ""


@dataclass(frozen=True)
class Handoff:
    """What a handoff notice says besides its text: who will answer (an operator's name, "" while a person is being
    found) and the ticket opened for the conversation ("" when none)."""

    who: str = ""
    ticket: str = ""

    @property
    def who_text(self) -> str:
        return self.who or "A person from the team"


class Outbound(Protocol):
    """Posts in a conversation's thread on its platform. ``citations`` are the answer's ``{"n", "label", "url",
    "document"}`` dicts; ``actions`` are ``Action`` buttons; ``handoff`` marks a handoff notice (Teams draws it as a
    card, Slack adds a context line)."""

    def post(
        self,
        conversation: Conversation,
        text: str,
        *,
        citations: Sequence[dict[str, Any]] = (),
        actions: Sequence[Action] = (),
        handoff: Handoff | None = None,
    ) -> str:
        """Post a new message in the thread; returns the platform's reference to it (Slack ``ts``)."""
        ...

    def update(
        self,
        conversation: Conversation,
        message_ref: str,
        text: str,
        *,
        citations: Sequence[dict[str, Any]] = (),
        actions: Sequence[Action] = (),
    ) -> None:
        """Replace the text of a message posted earlier (an answer being written)."""
        ...


OutboundFactory = Callable[[ChatSurfaceInstall], Outbound]
_outbound: dict[str, OutboundFactory] = {}


class SurfaceError(RuntimeError):
    """A surface refused a post for good (no outbound registered, no token, a channel gone); says what to fix."""


class TransientSurfaceError(SurfaceError):
    """The platform is busy or unreachable (429, 5xx, a timeout): try again, after ``retry_after`` seconds if given."""

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


def register_outbound(surface: str, factory: OutboundFactory) -> None:
    """Called by a platform package when the app is ready (``ChatConfig.ready``)."""
    _outbound[surface] = factory


def outbound_for(install: ChatSurfaceInstall | None) -> Outbound:
    if install is None:
        raise SurfaceError("This conversation has no Slack/Teams install to post through.")
    factory = _outbound.get(install.kind)
    if factory is None:
        raise SurfaceError(f"No outbound is registered for {install.kind!r}.")
    return factory(install)
