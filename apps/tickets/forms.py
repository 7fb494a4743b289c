"""Forms of the ticket pages: they parse and say what to fix; the services do the rest."""

from __future__ import annotations

import re
from typing import Any

from django import forms

from apps.tickets.models import MessageKind, Priority, Status
from apps.tickets.outbound.models import EventType

TAG = re.compile(r"^[\w][\w.-]{0,99}$")


class ReplyForm(forms.Form):
    body = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 5, "data-testid": "reply-body"}),
        max_length=50_000,
        error_messages={"required": "Write a reply or a note before sending."},
    )
    kind = forms.ChoiceField(choices=MessageKind.choices, initial=MessageKind.PUBLIC_REPLY)


class StatusForm(forms.Form):
    status = forms.ChoiceField(choices=Status.choices)
    priority = forms.ChoiceField(choices=Priority.choices)


class AssignForm(forms.Form):
    assignee = forms.UUIDField(required=False)


class TagsForm(forms.Form):
    tags = forms.CharField(required=False, max_length=2000)

    def clean_tags(self) -> list[str]:
        raw: Any = self.cleaned_data.get("tags") or ""
        tags = [t.strip() for t in raw.split(",") if t.strip()]
        bad = [t for t in tags if not TAG.match(t)]
        if bad:
            raise forms.ValidationError(f"Not a tag: {', '.join(bad)} (letters, digits, dots, dashes).")
        return tags


class WebhookEndpointForm(forms.Form):
    url = forms.URLField(
        label="URL",
        max_length=1000,
        assume_scheme="https",
        error_messages={"required": "Give the URL Gaby should POST events to."},
        widget=forms.URLInput(attrs={"data-testid": "webhook-url-input", "placeholder": "https://example.com/hooks"}),
    )
    description = forms.CharField(max_length=200, required=False)
    events = forms.MultipleChoiceField(
        choices=EventType.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="None ticked: every event.",
    )
    enabled = forms.BooleanField(required=False, initial=True)
