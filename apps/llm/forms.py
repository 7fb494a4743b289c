"""Forms for a client's model settings: providers (credentials write-only) and per-workflow routes."""

from __future__ import annotations

from typing import Any

from django import forms

from apps.llm.models import LLMProvider, ModelRoute, ProviderKind, Workflow
from apps.llm.providers import CREDENTIAL_FIELDS

OPTION_FIELDS = ("api_version", "aws_region_name", "vertex_project", "vertex_location")
SECRET_FIELDS = ("api_key", "aws_access_key_id", "aws_secret_access_key", "vertex_credentials")


class ProviderForm(forms.Form):
    name = forms.CharField(max_length=100, help_text="Your label, e.g. “OpenAI prod” or “Ollama on gpu-1”.")
    kind = forms.ChoiceField(choices=ProviderKind.choices)
    api_base = forms.URLField(
        required=False,
        label="Base URL",
        assume_scheme="https",
        help_text="Needed for Ollama, vLLM, llama.cpp, Azure and OpenAI-compatible servers.",
    )
    api_key = forms.CharField(
        required=False,
        widget=forms.PasswordInput,
        label="API key",
        help_text="Stored encrypted; leave blank to keep the current one.",
    )
    aws_access_key_id = forms.CharField(required=False, widget=forms.PasswordInput, label="AWS access key id")
    aws_secret_access_key = forms.CharField(required=False, widget=forms.PasswordInput, label="AWS secret access key")
    vertex_credentials = forms.CharField(
        required=False, widget=forms.Textarea(attrs={"rows": 3}), label="Vertex service-account JSON"
    )
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
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="One per line, tried in order when the model fails: “provider name / model”.",
    )
    max_output_tokens = forms.IntegerField(min_value=16, max_value=200_000, initial=1024)
    temperature = forms.FloatField(min_value=0, max_value=2, initial=0.2)
    timeout_seconds = forms.IntegerField(min_value=1, max_value=600, initial=60, label="Timeout (s)")

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
                "workflow": route.workflow,
                "provider": route.provider_id,
                "model": route.model,
                "fallbacks": "\n".join(lines),
                "max_output_tokens": route.max_output_tokens,
                "temperature": route.temperature,
                "timeout_seconds": route.timeout_seconds,
            }
        )
