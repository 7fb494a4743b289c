from __future__ import annotations

import json
from typing import Any

from django import forms

from apps.chat.models import IdentityMode


class JSONObjectField(forms.CharField):
    def to_python(self, value: Any) -> dict[str, Any]:  # type: ignore[override]
        text = (super().to_python(value) or "").strip()
        if not text:
            return {}
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise forms.ValidationError(f"This is not valid JSON: {exc.msg} (line {exc.lineno}).") from None
        if not isinstance(data, dict):
            raise forms.ValidationError("Write a JSON object, like {}.")
        return data

    def prepare_value(self, value: Any) -> str:
        return json.dumps(value, indent=1) if isinstance(value, dict) else str(value or "")


class WidgetForm(forms.Form):
    name = forms.CharField(max_length=100)
    allowed_origins = forms.CharField(
        required=False,  # a widget that is off may have none; the service refuses an enabled one without a site
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="One site per line, e.g. https://www.example.com",
    )
    greeting = forms.CharField(max_length=500, initial="Hi! How can I help?")
    persona_name = forms.CharField(max_length=60, initial="Gaby", label="Persona name")
    persona_avatar_url = forms.URLField(required=False, label="Avatar URL", assume_scheme="https")
    theme = JSONObjectField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text='CSS variables, e.g. {"accent": "#0b6e4f", "radius": "8px"}',
    )
    business_hours = JSONObjectField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text='e.g. {"mon": "09:00-17:00"}; empty means always open',
    )
    identity_mode = forms.ChoiceField(choices=IdentityMode.choices)
    enabled = forms.BooleanField(required=False, initial=True)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name, field in self.fields.items():
            field.widget.attrs["data-testid"] = f"widget-{name}"

    def clean_allowed_origins(self) -> list[str]:
        return [line.strip() for line in self.cleaned_data["allowed_origins"].splitlines() if line.strip()]


class ReplyForm(forms.Form):
    body = forms.CharField(max_length=5000, widget=forms.Textarea(attrs={"rows": 2, "data-testid": "reply-body"}))


class CorrectionForm(forms.Form):
    text = forms.CharField(
        max_length=10000,
        widget=forms.Textarea(attrs={"rows": 3, "data-testid": "correct-text"}),
        label="The right answer",
    )
