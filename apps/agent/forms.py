"""Forms for a client's model settings: providers (credentials write-only) and per-workflow routes."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from django import forms
from django.core.validators import validate_email

from apps.accounts.models import Membership, Role
from apps.agent.models import AgentSettings, LLMProvider, ModelRoute, ProviderKind, Workflow
from apps.agent.providers import CREDENTIAL_FIELDS
from apps.safety.client_settings import channels
from tenants.models import Client

OPTION_FIELDS = ("api_version", "aws_region_name", "vertex_project", "vertex_location")
SECRET_FIELDS = ("api_key", "aws_access_key_id", "aws_secret_access_key", "vertex_credentials")


class ProviderForm(forms.Form):
    name = forms.CharField(max_length=100, help_text="Your label, e.g. “OpenAI prod” or “Ollama on gpu-1”.")
    kind = forms.ChoiceField(choices=ProviderKind.choices)
    api_base = forms.URLField(
        required=False, label="Base URL", assume_scheme="https",
        help_text="Needed for Ollama, vLLM, llama.cpp, Azure and OpenAI-compatible servers.",
    )  # fmt: skip
    api_key = forms.CharField(required=False, widget=forms.PasswordInput, label="API key",
                              help_text="Stored encrypted; leave blank to keep the current one.")  # fmt: skip
    aws_access_key_id = forms.CharField(required=False, widget=forms.PasswordInput, label="AWS access key id")
    aws_secret_access_key = forms.CharField(required=False, widget=forms.PasswordInput, label="AWS secret access key")
    vertex_credentials = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 3}),
                                         label="Vertex service-account JSON")  # fmt: skip
    api_version = forms.CharField(required=False, label="API version (Azure)")
    aws_region_name = forms.CharField(required=False, label="Region (Bedrock)")
    vertex_project = forms.CharField(required=False, label="Project (Vertex)")
    vertex_location = forms.CharField(required=False, label="Location (Vertex)")
    clear_credentials = forms.BooleanField(required=False, label="Remove the stored credentials")

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        kind = data.get("kind")
        if kind:
            wanted = CREDENTIAL_FIELDS.get(ProviderKind(kind), ("api_key",))
            stray = [name for name in SECRET_FIELDS if data.get(name) and name not in wanted]
            if stray:
                labels = ", ".join(str(self.fields[name].label) for name in stray)
                raise forms.ValidationError(f"{ProviderKind(kind).label} does not use: {labels}. Leave them empty.")
        return data

    def credentials(self) -> dict[str, str] | None:
        """What to store: None keeps the stored credentials, {} clears them."""
        if self.cleaned_data.get("clear_credentials"):
            return {}
        given = {name: self.cleaned_data[name] for name in SECRET_FIELDS if self.cleaned_data.get(name)}
        return given or None

    def options(self) -> dict[str, str]:
        return {name: self.cleaned_data[name] for name in OPTION_FIELDS if self.cleaned_data.get(name)}

    @classmethod
    def for_provider(cls, provider: LLMProvider) -> ProviderForm:
        initial = {"name": provider.name, "kind": provider.kind, "api_base": provider.api_base, **provider.options}
        return cls(initial=initial)


class RouteForm(forms.Form):
    workflow = forms.ChoiceField(choices=Workflow.choices)
    provider = forms.ModelChoiceField(queryset=LLMProvider.objects.filter(enabled=True))
    model = forms.CharField(max_length=200, help_text="As the provider names it, e.g. gpt-4o-mini or llama3.1:8b.")
    fallbacks = forms.CharField(
        required=False, widget=forms.Textarea(attrs={"rows": 2}),
        help_text="One per line, tried in order when the model fails: “provider name / model”.",
    )  # fmt: skip
    max_output_tokens = forms.IntegerField(min_value=16, max_value=200_000, initial=1024)
    temperature = forms.FloatField(min_value=0, max_value=2, initial=0.2)
    timeout_seconds = forms.IntegerField(min_value=1, max_value=600, initial=60)

    def clean_fallbacks(self) -> list[tuple[LLMProvider, str]]:
        chosen = []
        providers = {p.name.casefold(): p for p in LLMProvider.objects.filter(enabled=True)}
        for number, line in enumerate(self.cleaned_data.get("fallbacks", "").splitlines(), start=1):
            if not line.strip():
                continue
            name, slash, model = line.partition("/")
            provider = providers.get(name.strip().casefold())
            if not slash or not model.strip():
                raise forms.ValidationError(f"Line {number}: write “provider name / model”, e.g. “Ollama / llama3”.")
            if provider is None:
                raise forms.ValidationError(f"Line {number}: no enabled provider is named “{name.strip()}”.")
            chosen.append((provider, model.strip()))
        return chosen

    @classmethod
    def for_route(cls, route: ModelRoute) -> RouteForm:
        names = {str(p.pk): p.name for p in LLMProvider.objects.all()}
        lines = [f"{names.get(str(f.get('provider')), '?')} / {f.get('model')}" for f in route.fallbacks]
        return cls(
            initial={
                "workflow": route.workflow, "provider": route.provider_id, "model": route.model,
                "fallbacks": "\n".join(lines), "max_output_tokens": route.max_output_tokens,
                "temperature": route.temperature, "timeout_seconds": route.timeout_seconds,
            }
        )  # fmt: skip


class AgentSettingsForm(forms.ModelForm):
    escalation_assignee_id = forms.TypedChoiceField(
        required=False, coerce=UUID, empty_value=None, label="Escalate to",
        help_text="Who an escalated ticket is assigned to; nobody leaves it unassigned.",
    )  # fmt: skip

    class Meta:
        model = AgentSettings
        fields = ["auto_investigate", "default_depth", "tone", "knowledge_threshold", "max_tokens", "max_usd",
                  "escalation_assignee_id", "escalation_email", "escalation_slack", "escalation_teams", "summary_hour",
                  "summary_recipients"]  # fmt: skip

    def __init__(self, *args: Any, client: Client, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.client = client
        members = Membership.objects.filter(client=client, role__in=[Role.ADMIN, Role.AGENT]).select_related("user")
        assignee = self.fields["escalation_assignee_id"]
        assert isinstance(assignee, forms.TypedChoiceField)
        assignee.choices = [("", "nobody")] + [(str(m.user_id), m.user.email) for m in members.order_by("user__email")]
        if self.instance.escalation_assignee_id:
            self.initial["escalation_assignee_id"] = str(self.instance.escalation_assignee_id)

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        configured = channels(self.client)
        for field, ready, name in (("escalation_slack", configured.slack, "Slack"),
                                   ("escalation_teams", configured.teams, "Teams")):  # fmt: skip
            if cleaned.get(field) and not ready:
                self.add_error(field, f"Set a {name} webhook under Safety → Approval channels first.")
        return cleaned

    def clean_summary_hour(self) -> int | None:
        value = self.cleaned_data.get("summary_hour")
        if value is not None and not 0 <= value <= 23:
            raise forms.ValidationError("Give an hour from 0 to 23, or leave it empty for no summary.")
        return value

    def clean_summary_recipients(self) -> str:
        raw = self.cleaned_data.get("summary_recipients", "")
        addresses = [part.strip() for part in raw.replace(";", ",").split(",") if part.strip()]
        for address in addresses:
            try:
                validate_email(address)
            except forms.ValidationError:
                raise forms.ValidationError(f"{address!r} is not an email address.") from None
        return ", ".join(addresses)

    def clean_knowledge_threshold(self) -> float:
        value = self.cleaned_data["knowledge_threshold"]
        if not 0 <= value <= 1:
            raise forms.ValidationError("Use a confidence between 0 and 1, e.g. 0.6.")
        return float(value)
