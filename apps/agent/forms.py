"""The form of a client's agent settings (autonomy, budgets, escalation notices, the nightly summary)."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from django import forms
from django.core.validators import validate_email

from apps.accounts.models import Membership, Role
from apps.agent.models import AgentSettings
from apps.safety.client_settings import channels
from tenants.models import Client


class AgentSettingsForm(forms.ModelForm):
    escalation_assignee_id = forms.TypedChoiceField(
        required=False,
        coerce=UUID,
        empty_value=None,
        label="Escalate to",
        help_text="Who an escalated ticket is assigned to; nobody leaves it unassigned.",
    )

    class Meta:
        model = AgentSettings
        fields = [
            "auto_investigate",
            "default_depth",
            "tone",
            "knowledge_threshold",
            "max_tokens",
            "max_usd",
            "escalation_assignee_id",
            "escalation_email",
            "escalation_slack",
            "escalation_teams",
            "summary_hour",
            "summary_recipients",
        ]

    def __init__(self, *args: Any, client: Client, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.client = client
        members = Membership.objects.filter(client=client, role__in=[Role.ADMIN, Role.AGENT]).select_related("user")
        assignee = self.fields["escalation_assignee_id"]
        assert isinstance(assignee, forms.TypedChoiceField)
        assignee.choices = [("", "nobody")] + [(str(m.user_id), m.user.email) for m in members.order_by("user__email")]
        if self.instance.escalation_assignee_id:
            self.initial["escalation_assignee_id"] = str(self.instance.escalation_assignee_id)

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        configured = channels(self.client)
        for field, ready, name in (
            ("escalation_slack", configured.slack, "Slack"),
            ("escalation_teams", configured.teams, "Teams"),
        ):
            if cleaned.get(field) and not ready:
                self.add_error(field, f"Set a {name} webhook under Safety → Approval channels first.")
        return cleaned

    def clean_summary_hour(self) -> int | None:
        value = self.cleaned_data.get("summary_hour")
        if value is not None and not 0 <= value <= 23:
            raise forms.ValidationError("Give an hour from 0 to 23, or leave it empty for no summary.")
        return value

    def clean_summary_recipients(self) -> str:
        raw = self.cleaned_data.get("summary_recipients", "")
        addresses = [part.strip() for part in raw.replace(";", ",").split(",") if part.strip()]
        for address in addresses:
            try:
                validate_email(address)
            except forms.ValidationError:
                raise forms.ValidationError(f"{address!r} is not an email address.") from None
        return ", ".join(addresses)

    def clean_knowledge_threshold(self) -> float:
        value = self.cleaned_data["knowledge_threshold"]
        if not 0 <= value <= 1:
            raise forms.ValidationError("Use a confidence between 0 and 1, e.g. 0.6.")
        return float(value)
