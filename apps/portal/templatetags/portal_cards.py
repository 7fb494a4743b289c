"""``{% card_for cards client as card %}``: the card the portal's view computed for one client of the switcher."""

from __future__ import annotations

from typing import Any

from django import template

register = template.Library()


@register.simple_tag
def card_for(cards: dict[Any, Any] | None, client: Any) -> Any:
    return (cards or {}).get(getattr(client, "pk", None))
