"""``{% setup_checklist %}``: the first-run checklist on an empty inbox, until it is complete or an Admin hides it."""

from __future__ import annotations

from typing import Any

from django import template

from apps.onboarding import checklist
from apps.onboarding.views import PART, checklist_context

register = template.Library()


@register.inclusion_tag(PART, takes_context=True)
def setup_checklist(context: template.Context) -> dict[str, Any]:
    if checklist.hidden():
        return {"hide_all": True}
    shown = checklist_context(context["request"], inline=True)
    shown["hide_all"] = shown["done"] == len(shown["steps"])
    return {**shown, "csrf_token": context.get("csrf_token"), "messages": ()}
