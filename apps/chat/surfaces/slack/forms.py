"""The Slack install's settings: the channels Gaby listens to and who may use it."""

from __future__ import annotations

from typing import Any

from django import forms

from apps.chat.models import SurfaceAccess

MAX_ALLOWED = 500


class SlackSettingsForm(forms.Form):
    channels = forms.MultipleChoiceField(
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="Gaby answers @mentions in these channels (invite it there too). Direct messages always reach it.",
    )
    access = forms.ChoiceField(choices=SurfaceAccess.choices, widget=forms.RadioSelect)
    allowed = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text="One email or domain per line (e.g. acme.com), used when only listed people may ask.",
    )
    approvals_channel = forms.ChoiceField(
        required=False,
        label="Approvals channel",
        help_text="Approval requests (with Approve/Reject buttons) and escalations are posted here by the Gaby app "
        "(invite it there). None: they go to the incoming webhook under Safety → Approval channels, if set.",
    )
    enabled = forms.BooleanField(required=False, help_text="Off: Gaby ignores this workspace's messages.")

    def __init__(self, *args: Any, channel_choices: list[tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        channels = self.fields["channels"]
        assert isinstance(channels, forms.MultipleChoiceField)
        channels.choices = channel_choices
        approvals = self.fields["approvals_channel"]
        assert isinstance(approvals, forms.ChoiceField)
        approvals.choices = [("", "None (use the webhook)"), *channel_choices]
        for name, field in self.fields.items():
            field.widget.attrs.setdefault("data-testid", f"slack-{name}")

    def clean_allowed(self) -> list[str]:
        entries = [line.strip().lower() for line in self.cleaned_data["allowed"].splitlines() if line.strip()]
        if len(entries) > MAX_ALLOWED:
            raise forms.ValidationError(f"List at most {MAX_ALLOWED} emails or domains.")
        bad = [e for e in entries if " " in e or "." not in e.rpartition("@")[2]]
        if bad:
            raise forms.ValidationError(f"Not an email or a domain: {bad[0]!r} (write e.g. acme.com or ana@acme.com).")
        return entries

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("access") == SurfaceAccess.LISTED and not data.get("allowed"):
            self.add_error("allowed", "List at least one email or domain, or let everyone in the workspace ask.")
        return data
