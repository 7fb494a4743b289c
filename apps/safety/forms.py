"""Forms of the per-client safety settings page."""

from __future__ import annotations

import json
from typing import Any

from django import forms

from apps.connectors.models import Connector
from apps.core.compliance import ProfileName
from apps.tickets.models import SourceAutonomy, TicketSource
from tenants.models import Autonomy


class TestIdForm(forms.Form):
    """Every rendered field carries ``data-testid`` = its name (browser tests find fields by it)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name, field in self.fields.items():
            field.widget.attrs.setdefault("data-testid", name.replace("_", "-"))


class SafetySettingsForm(TestIdForm):
    autonomy = forms.ChoiceField(choices=Autonomy.choices, label="Client autonomy")
    approval_threshold = forms.IntegerField(min_value=0, max_value=100, help_text="Risk 0-100 at which writes wait.")
    approval_ttl_hours = forms.IntegerField(min_value=1, max_value=720, label="Approval expiry (hours)")
    admin_approval_risk = forms.IntegerField(
        min_value=0,
        max_value=101,
        required=False,
        label="Admin approval from risk",
        help_text="Actions at or above this risk are approved by an Admin only (101: any Agent may approve).",
    )
    compliance_profile = forms.ChoiceField(choices=ProfileName.choices)
    notify_email = forms.BooleanField(required=False, label="Email approvers a signed approve/reject link")


def parse_arguments(raw: str) -> dict[str, Any]:
    try:
        value = json.loads(raw.strip() or "{}")
    except json.JSONDecodeError as exc:
        raise forms.ValidationError(f"Not JSON: {exc.msg} at character {exc.pos}.") from None
    if not isinstance(value, dict):
        raise forms.ValidationError('The arguments are a JSON object, e.g. {"namespace": "prod"}.')
    return value


class PreviewForm(TestIdForm):
    """A hypothetical tool call, decided under the settings form's (unsaved) values."""

    preview_connector = forms.ModelChoiceField(queryset=Connector.objects.all(), label="Connector")
    preview_tool = forms.CharField(max_length=200, label="Tool")
    preview_arguments = forms.CharField(required=False, label="Arguments (JSON)", widget=forms.Textarea({"rows": 2}))
    preview_source = forms.ModelChoiceField(
        queryset=TicketSource.objects.all(), required=False, label="For a ticket from", empty_label="no ticket source"
    )

    def clean_preview_arguments(self) -> dict[str, Any]:
        return parse_arguments(self.cleaned_data["preview_arguments"])


class SourceAutonomyForm(forms.Form):
    autonomy = forms.ChoiceField(choices=SourceAutonomy.choices, required=False)


class ChannelsForm(TestIdForm):
    """Approval channels. Secret fields left empty keep what is stored; tick "remove" to delete it."""

    slack_webhook_url = forms.URLField(
        required=False,
        label="Slack incoming webhook URL",
        assume_scheme="https",
        widget=forms.PasswordInput(render_value=False),
    )
    slack_signing_secret = forms.CharField(
        required=False, label="Slack signing secret", widget=forms.PasswordInput(render_value=False)
    )
    slack_users = forms.CharField(
        required=False,
        widget=forms.Textarea({"rows": 3}),
        label="Slack approvers",
        help_text="One per line: Slack user id, a space, the Gaby user's email (e.g. U024BE7LH alice@example.com).",
    )
    teams_webhook_url = forms.URLField(
        required=False,
        label="Teams incoming webhook URL",
        assume_scheme="https",
        widget=forms.PasswordInput(render_value=False),
    )
    remove_slack = forms.BooleanField(required=False, label="Remove the Slack settings")
    remove_teams = forms.BooleanField(required=False, label="Remove the Teams webhook")

    def clean_slack_users(self) -> dict[str, str] | None:
        raw = self.cleaned_data["slack_users"].strip()
        if not raw:
            return None
        users = {}
        for number, line in enumerate(raw.splitlines(), start=1):
            parts = line.split()
            if not parts:
                continue
            if len(parts) != 2 or "@" not in parts[1]:
                raise forms.ValidationError(f"Line {number}: write the Slack user id, a space, then an email.")
            users[parts[0]] = parts[1].lower()
        return users

    def changes(self) -> dict[str, Any]:
        data = self.cleaned_data
        changes: dict[str, Any] = {
            name: data[name] or None for name in ("slack_webhook_url", "slack_signing_secret", "teams_webhook_url")
        }
        changes["slack_users"] = data["slack_users"]
        if data["remove_slack"]:
            changes.update(slack_webhook_url="", slack_signing_secret="", slack_users={})
        if data["remove_teams"]:
            changes["teams_webhook_url"] = ""
        return changes
