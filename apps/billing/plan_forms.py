"""The per-client plan and quota form on the MSP's Costs page: each field checked with a message that says what to
fix. An empty override keeps the plan's own cap."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import forms

from tenants.models import Plan


class ClientPlanForm(forms.Form):
    plan = forms.ModelChoiceField(
        queryset=Plan.objects.all(), empty_label=None, error_messages={"invalid_choice": "Pick one of the plans."}
    )
    monthly_tokens = forms.IntegerField(
        required=False,
        min_value=1,
        max_value=10**15,
        label="Monthly tokens (override)",
        help_text="Empty: the plan's cap.",
    )
    monthly_usd = forms.DecimalField(
        required=False,
        min_value=Decimal("0.01"),
        max_digits=10,
        decimal_places=2,
        label="Monthly USD (override)",
        help_text="Empty: the plan's cap. Two decimals at most.",
    )
    seats = forms.IntegerField(
        required=False, min_value=1, max_value=100000, label="Operator seats (override)", help_text="Empty: the plan's."
    )

    def __init__(self, *args: Any, prefix_slug: str = "", **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name, field in self.fields.items():  # ids unique on a page that lists every client's form
            field.widget.attrs.setdefault("id", f"id_{prefix_slug}_{name}")
            field.widget.attrs.setdefault("data-testid", f"plan-{name}-{prefix_slug}")
