"""LLM configuration and the record of every call, in each client's schema (LLM-2..LLM-6)."""

from __future__ import annotations

from django.db import models

from apps.core.ids import uuid7


class ProviderKind(models.TextChoices):
    OPENAI = "openai", "OpenAI"
    ANTHROPIC = "anthropic", "Anthropic"
    AZURE = "azure", "Azure OpenAI"
    BEDROCK = "bedrock", "AWS Bedrock"
    VERTEX = "vertex", "Google Vertex AI"
    OLLAMA = "ollama", "Ollama"
    VLLM = "vllm", "vLLM"
    LLAMACPP = "llamacpp", "llama.cpp server"
    OPENAI_COMPATIBLE = "openai_compatible", "Any OpenAI-compatible endpoint"


class Workflow(models.TextChoices):
    """Where in an investigation a model is used; each can be routed to its own model (LLM-4)."""

    CLASSIFY = "classify", "Classification (cheap, fast)"
    PLAN = "plan", "Planning and tool use"
    VERDICT = "verdict", "Verdict"
    REPLY = "reply", "Customer reply"


# Embedding batches are recorded as calls too (apps/llm/embeddings.py), for their cost; they are never routed (the
# knowledge settings pick the model), so the workflow is the call's only, not a route's.
EMBED = "embed"
CALL_WORKFLOWS = [*Workflow.choices, (EMBED, "Embeddings (knowledge base)")]


class LLMProvider(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    name = models.CharField(max_length=100, unique=True)
    kind = models.CharField(max_length=32, choices=ProviderKind.choices)
    api_base = models.URLField(blank=True, help_text="Required for Ollama, vLLM, llama.cpp and OpenAI-compatible URLs.")
    sealed_credentials = models.TextField(blank=True, help_text="API key etc., sealed with this client's data key.")
    options = models.JSONField(default=dict, blank=True, help_text="e.g. api_version (Azure), region (Bedrock).")
    enabled = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.get_kind_display()})"


class ModelRoute(models.Model):
    """Which provider and model serve a workflow, then which to fall back to, in order."""

    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    workflow = models.CharField(max_length=16, choices=Workflow.choices, unique=True)
    provider = models.ForeignKey(LLMProvider, on_delete=models.PROTECT, related_name="routes")
    model = models.CharField(max_length=200)
    fallbacks = models.JSONField(default=list, blank=True, help_text='[{"provider": "<id>", "model": "<name>"}, ...]')
    max_output_tokens = models.PositiveIntegerField(default=1024)
    temperature = models.FloatField(default=0.2)
    timeout_seconds = models.PositiveIntegerField(default=60)

    def __str__(self) -> str:
        return f"{self.get_workflow_display()} → {self.provider.name}/{self.model}"


class CallStatus(models.TextChoices):
    OK = "ok", "OK"
    ERROR = "error", "Error"
    BUDGET_STOPPED = "budget_stopped", "Stopped by budget"
    NOT_ALLOWED = "not_allowed", "Provider not allowed"


class LLMCall(models.Model):
    """One attempt to call a model: what was sent (after redaction), what came back, and its cost."""

    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    budget_key = models.CharField(
        max_length=64, db_index=True, blank=True, help_text="The investigation it counts against."
    )
    workflow = models.CharField(max_length=16, choices=CALL_WORKFLOWS)
    # Who the call was made for, as the caller's Budget says: "user:<accounts.User id>" (an operator who started
    # it), "contact:<email or id>" (the ticket's requester), "visitor:<email or id>" (a chat visitor); empty when
    # nobody asked (knowledge ingestion) or for calls recorded before it existed. The cost ledger groups by it.
    requested_by = models.CharField(max_length=320, blank=True, default="")
    provider_kind = models.CharField(max_length=32, choices=ProviderKind.choices)
    provider_name = models.CharField(max_length=100)
    model = models.CharField(max_length=200)
    prompt_name = models.CharField(max_length=100)
    prompt_version = models.PositiveIntegerField()
    prompt_hash = models.CharField(max_length=64)
    request_messages = models.JSONField(default=list)
    response_text = models.TextField(blank=True)
    tool_calls = models.JSONField(default=list, blank=True)
    input_tokens = models.PositiveIntegerField(default=0)
    output_tokens = models.PositiveIntegerField(default=0)
    cost_usd = models.DecimalField(max_digits=12, decimal_places=6, default=0)
    latency_ms = models.PositiveIntegerField(default=0)
    streamed = models.BooleanField(default=False)
    cached = models.BooleanField(default=False)
    status = models.CharField(max_length=16, choices=CallStatus.choices)
    error = models.TextField(blank=True)
    attempt = models.PositiveSmallIntegerField(default=1)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.workflow} {self.provider_name}/{self.model} {self.status}"
