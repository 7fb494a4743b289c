from __future__ import annotations

from django import forms

from apps.accounts.models import Role


class ApiKeyForm(forms.Form):
    name = forms.CharField(
        max_length=100,
        error_messages={"required": "Name the key after what uses it, e.g. 'CRM sync'."},
        widget=forms.TextInput(attrs={"data-testid": "api-key-name", "placeholder": "CRM sync"}),
    )
    role = forms.ChoiceField(
        choices=Role.choices, initial=Role.VIEWER, widget=forms.Select(attrs={"data-testid": "api-key-role"})
    )
