from __future__ import annotations

from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django import forms

from apps.accounts.models import Role
from apps.onboarding.client_templates.onboard import TemplateChoiceField
from tenants.models import Client, slug_validator


class NewClientForm(forms.Form):
    name = forms.CharField(max_length=200)
    slug = forms.CharField(
        max_length=31,
        label="Subdomain",
        validators=[slug_validator],
        help_text="Becomes the subdomain and schema, e.g. hartwell.",
    )
    template = TemplateChoiceField()  # MSP-8: applied in one step after the client is created

    def clean_slug(self) -> str:
        slug: str = self.cleaned_data["slug"].strip().lower()
        if Client.objects.filter(slug=slug).exists():
            raise forms.ValidationError(f"A client with the subdomain {slug!r} already exists: pick another.")
        return slug


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
