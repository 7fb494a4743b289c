"""The Teams install's settings: the channels Gaby answers mentions in and who may use it — the Slack form's rules
for access and the allow list (one install model), with channels given by id (Teams lists them to its admins)."""

from __future__ import annotations

import re
from typing import Any

from django import forms

from apps.chat.surfaces.slack.forms import SlackSettingsForm

CHANNEL_ID = re.compile(r"^19:[A-Za-z0-9_\-]+@thread\.(tacv2|skype)$")
MAX_CHANNELS = 200


class TeamsSettingsForm(SlackSettingsForm):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, channel_choices=[], **kwargs)
        self.fields["channels"] = forms.CharField(
            required=False,
            widget=forms.Textarea(attrs={"rows": 3}),
            help_text="One channel id per line, e.g. 19:abc…@thread.tacv2 (the 19:… part of Get link to channel). "
            "Gaby answers @mentions there; personal chats always reach it.",
        )
        self.fields["enabled"].help_text = "Off: Gaby ignores this tenant's messages."
        del self.fields["approvals_channel"]  # Teams sends approval cards to each approver's chat instead
        for name, field in self.fields.items():
            field.widget.attrs["data-testid"] = f"teams-{name}"

    def clean_channels(self) -> list[str]:
        from urllib.parse import unquote

        entries = [unquote(line.strip()) for line in self.cleaned_data["channels"].splitlines() if line.strip()]
        if len(entries) > MAX_CHANNELS:
            raise forms.ValidationError(f"List at most {MAX_CHANNELS} channels.")
        bad = [e for e in entries if not CHANNEL_ID.match(e)]
        if bad:
            raise forms.ValidationError(
                f"Not a Teams channel id: {bad[0]!r}. Copy the 19:…@thread.tacv2 part of the channel's link."
            )
        return list(dict.fromkeys(entries))
