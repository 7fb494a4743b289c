"""The portal's "Onboard a client" form: a name, a subdomain, and the onboarding template to apply (MSP-8)."""

from __future__ import annotations

from django import forms

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
