"""Forms of the knowledge pages: they parse and validate input; services do the work."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django import forms
from django.utils import timezone

from apps.knowledge.models import EmbeddingBackend, KnowledgeSource, SourceKind
from apps.knowledge.retrieval import Filters
from apps.llm.models import LLMProvider


class SourceForm(forms.Form):
    kind = forms.ChoiceField(
        choices=[
            (k.value, k.label)
            for k in (SourceKind.DIRECTORY, SourceKind.GIT, SourceKind.URL_CRAWL, SourceKind.PAST_TICKETS)
        ]
    )
    name = forms.CharField(max_length=200)
    path = forms.CharField(
        required=False,
        max_length=1000,
        label="Directory path (directory)",
        help_text="An absolute path on the Gaby server (MSP staff only).",
    )
    url = forms.CharField(
        required=False,
        max_length=1000,
        label="Repository URL or path (git), or start page (crawl)",
        help_text="Git: clone URL or path. Crawl: start page.",
    )
    branch = forms.CharField(required=False, max_length=200, label="Branch (git, optional)")
    subdir = forms.CharField(required=False, max_length=500, label="Sub-directory (git, optional)")
    max_depth = forms.IntegerField(required=False, min_value=0, max_value=10, label="Link depth (crawl, default 2)")
    max_pages = forms.IntegerField(required=False, min_value=1, max_value=5000, label="Page limit (crawl, default 100)")
    schedule_minutes = forms.IntegerField(required=False, min_value=5, label="Re-sync every N minutes (optional)")

    def config(self) -> dict[str, Any]:
        data = self.cleaned_data
        if data["kind"] == SourceKind.DIRECTORY:
            return {"path": data["path"]}
        if data["kind"] == SourceKind.PAST_TICKETS:
            return {}
        if data["kind"] == SourceKind.URL_CRAWL:
            return {"url": data["url"], "max_depth": data["max_depth"], "max_pages": data["max_pages"]}
        return {"url": data["url"], "branch": data["branch"], "subdir": data["subdir"]}


class CandidateForm(forms.Form):
    title = forms.CharField(max_length=300)
    body = forms.CharField(label="Text", widget=forms.Textarea(attrs={"rows": 8}))


class SearchForm(forms.Form):
    q = forms.CharField(required=False, max_length=1000, label="Query")
    source = forms.ModelChoiceField(queryset=KnowledgeSource.objects.none(), required=False, empty_label="All sources")
    days = forms.IntegerField(required=False, min_value=1, label="Modified in the last N days")
    tags = forms.CharField(
        required=False,
        max_length=500,
        label="Tags",
        help_text="Comma-separated; any of them.",
        widget=forms.TextInput(attrs={"data-testid": "search-tags", "placeholder": "vpn, remote"}),
    )
    mode = forms.ChoiceField(
        required=False,
        choices=[("hybrid", "Hybrid"), ("lexical", "Full text only"), ("semantic", "Vector only")],
        label="Retrieval",
        widget=forms.Select(attrs={"data-testid": "search-mode"}),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["source"]
        assert isinstance(field, forms.ModelChoiceField)
        field.queryset = KnowledgeSource.objects.all()

    def filters(self) -> Filters:
        source = self.cleaned_data.get("source")
        days = self.cleaned_data.get("days")
        return Filters(
            source_ids=[source.pk] if source else None,
            modified_after=timezone.now() - timedelta(days=days) if days else None,
            tags=[t.strip().lower() for t in self.cleaned_data.get("tags", "").split(",") if t.strip()] or None,
        )


class EmbeddingForm(forms.Form):
    """Knowledge > Embeddings: the client's backend; a LiteLLM model needs one of its LLM providers."""

    backend = forms.ChoiceField(choices=EmbeddingBackend.choices)
    provider: forms.ModelChoiceField[Any] = forms.ModelChoiceField(
        queryset=None, required=False, empty_label="—", label="LLM provider (LiteLLM)"
    )
    model = forms.CharField(
        required=False, max_length=200, label="Embedding model (LiteLLM)", help_text="e.g. text-embedding-3-small"
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["provider"].queryset = LLMProvider.objects.filter(enabled=True)  # type: ignore[attr-defined]
