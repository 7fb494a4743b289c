from __future__ import annotations

from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django import forms

from apps.accounts.models import Role
from tenants.models import Client


class ClientSettingsForm(forms.ModelForm[Client]):
    class Meta:
        model = Client
        # Autonomy, the approval threshold and the compliance profile are Safety settings: edited there only.
        fields = ["name", "time_zone"]


class AddMemberForm(forms.Form):
    email = forms.EmailField()
    role = forms.ChoiceField(choices=Role.choices, initial=Role.AGENT)


class RoleForm(forms.Form):
    role = forms.ChoiceField(choices=Role.choices)


def _valid_time_zone(value: str) -> None:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise forms.ValidationError(
            f"{value!r} is not a time zone: use a name like Europe/London or America/Denver."
        ) from None


ClientSettingsForm.base_fields["time_zone"].validators.append(_valid_time_zone)
