"""The template editor's forms: the template is YAML (one text area), checked by spec.parse on save."""

from __future__ import annotations

from django import forms

from apps.onboarding.client_templates.models import ClientTemplate
from tenants.models import Client

STARTER = """name: Architecture studio
description: Small studio on Microsoft 365 with large CAD files on a NAS.
autonomy: review          # investigate | review | auto
approval_threshold: 40    # writes at or above this risk (0-100) wait for a person
compliance_profile: standard   # standard | hipaa | soc2 | pipeda
playbooks:
  - m365-sign-in-help
knowledge_bundle: ""      # one of the bundles the install ships, or empty
widget:
  greeting: Hi! How can we help?
billing:
  minimum_minutes: 2
  rounding_minutes: 15
connectors:
  - microsoft365
"""


class TemplateYamlForm(forms.Form):
    yaml = forms.CharField(
        label="Template (YAML)",
        widget=forms.Textarea(attrs={"rows": 30, "spellcheck": "false", "class": "code"}),
        max_length=64_000,
        help_text="Each save that changes it is a new version; clients keep the version they were onboarded with.",
    )


class NewTemplateForm(TemplateYamlForm):
    key = forms.SlugField(
        max_length=60,
        label="Key",
        help_text="Names it in the CLI (gaby create-client ... --template KEY), e.g. architecture-studio.",
    )
    field_order = ["key", "yaml"]

    def clean_key(self) -> str:
        key: str = self.cleaned_data["key"].strip().lower()
        if ClientTemplate.objects.filter(key=key).exists():
            raise forms.ValidationError(f"A template named {key!r} exists already: edit it or pick another key.")
        return key


class ApplyToClientForm(forms.Form):
    client = forms.ModelChoiceField(
        queryset=Client.objects.exclude(schema_name="public").order_by("name"),
        to_field_name="slug",
        label="Client",
        help_text="See what applying this template's latest version would change, then apply it.",
    )
