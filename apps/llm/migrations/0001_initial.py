"""The LLM gateway's tables move from the agent app: the models' state moves here, and each existing table is renamed
(agent_llmprovider -> llm_llmprovider, ...) with its rows, so a populated install keeps its providers, routes and
call records. On a fresh install the agent's migrations have just created the tables: the same rename applies."""

import apps.core.ids
import django.db.models.deletion
from django.db import migrations, models


TABLES = ("llmprovider", "modelroute", "llmcall")


def relabel_content_types(apps, schema_editor, old="agent", new="llm"):
    """Permissions and admin history stay attached to the moved models."""
    ContentType = apps.get_model("contenttypes", "ContentType")
    ContentType.objects.using(schema_editor.connection.alias).filter(app_label=old, model__in=TABLES).update(
        app_label=new
    )


def unrelabel_content_types(apps, schema_editor):
    relabel_content_types(apps, schema_editor, old="llm", new="agent")


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        ("agent", "0006_knowledge_threshold_038"),
        # Every migration that still names the old tables (the embedding provider's foreign key) runs first.
        ("knowledge", "0007_candidate_reviewed_by"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="LLMCall",
                    fields=[
                        (
                            "id",
                            models.UUIDField(
                                default=apps.core.ids.uuid7, editable=False, primary_key=True, serialize=False
                            ),
                        ),
                        (
                            "budget_key",
                            models.CharField(
                                blank=True,
                                db_index=True,
                                help_text="The investigation it counts against.",
                                max_length=64,
                            ),
                        ),
                        (
                            "workflow",
                            models.CharField(
                                choices=[
                                    ("classify", "Classification (cheap, fast)"),
                                    ("plan", "Planning and tool use"),
                                    ("verdict", "Verdict"),
                                    ("reply", "Customer reply"),
                                ],
                                max_length=16,
                            ),
                        ),
                        (
                            "provider_kind",
                            models.CharField(
                                choices=[
                                    ("openai", "OpenAI"),
                                    ("anthropic", "Anthropic"),
                                    ("azure", "Azure OpenAI"),
                                    ("bedrock", "AWS Bedrock"),
                                    ("vertex", "Google Vertex AI"),
                                    ("ollama", "Ollama"),
                                    ("vllm", "vLLM"),
                                    ("llamacpp", "llama.cpp server"),
                                    ("openai_compatible", "Any OpenAI-compatible endpoint"),
                                ],
                                max_length=32,
                            ),
                        ),
                        ("provider_name", models.CharField(max_length=100)),
                        ("model", models.CharField(max_length=200)),
                        ("prompt_name", models.CharField(max_length=100)),
                        ("prompt_version", models.PositiveIntegerField()),
                        ("prompt_hash", models.CharField(max_length=64)),
                        ("request_messages", models.JSONField(default=list)),
                        ("response_text", models.TextField(blank=True)),
                        ("tool_calls", models.JSONField(blank=True, default=list)),
                        ("input_tokens", models.PositiveIntegerField(default=0)),
                        ("output_tokens", models.PositiveIntegerField(default=0)),
                        ("cost_usd", models.DecimalField(decimal_places=6, default=0, max_digits=12)),
                        ("latency_ms", models.PositiveIntegerField(default=0)),
                        ("streamed", models.BooleanField(default=False)),
                        ("cached", models.BooleanField(default=False)),
                        (
                            "status",
                            models.CharField(
                                choices=[
                                    ("ok", "OK"),
                                    ("error", "Error"),
                                    ("budget_stopped", "Stopped by budget"),
                                    ("not_allowed", "Provider not allowed"),
                                ],
                                max_length=16,
                            ),
                        ),
                        ("error", models.TextField(blank=True)),
                        ("attempt", models.PositiveSmallIntegerField(default=1)),
                        ("created_at", models.DateTimeField(auto_now_add=True, db_index=True)),
                    ],
                    options={
                        "ordering": ["-created_at"],
                    },
                ),
                migrations.CreateModel(
                    name="LLMProvider",
                    fields=[
                        (
                            "id",
                            models.UUIDField(
                                default=apps.core.ids.uuid7, editable=False, primary_key=True, serialize=False
                            ),
                        ),
                        ("name", models.CharField(max_length=100, unique=True)),
                        (
                            "kind",
                            models.CharField(
                                choices=[
                                    ("openai", "OpenAI"),
                                    ("anthropic", "Anthropic"),
                                    ("azure", "Azure OpenAI"),
                                    ("bedrock", "AWS Bedrock"),
                                    ("vertex", "Google Vertex AI"),
                                    ("ollama", "Ollama"),
                                    ("vllm", "vLLM"),
                                    ("llamacpp", "llama.cpp server"),
                                    ("openai_compatible", "Any OpenAI-compatible endpoint"),
                                ],
                                max_length=32,
                            ),
                        ),
                        (
                            "api_base",
                            models.URLField(
                                blank=True, help_text="Required for Ollama, vLLM, llama.cpp and OpenAI-compatible URLs."
                            ),
                        ),
                        (
                            "sealed_credentials",
                            models.TextField(blank=True, help_text="API key etc., sealed with this client's data key."),
                        ),
                        (
                            "options",
                            models.JSONField(
                                blank=True, default=dict, help_text="e.g. api_version (Azure), region (Bedrock)."
                            ),
                        ),
                        ("enabled", models.BooleanField(default=True)),
                        ("created_at", models.DateTimeField(auto_now_add=True)),
                    ],
                    options={
                        "ordering": ["name"],
                    },
                ),
                migrations.CreateModel(
                    name="ModelRoute",
                    fields=[
                        (
                            "id",
                            models.UUIDField(
                                default=apps.core.ids.uuid7, editable=False, primary_key=True, serialize=False
                            ),
                        ),
                        (
                            "workflow",
                            models.CharField(
                                choices=[
                                    ("classify", "Classification (cheap, fast)"),
                                    ("plan", "Planning and tool use"),
                                    ("verdict", "Verdict"),
                                    ("reply", "Customer reply"),
                                ],
                                max_length=16,
                                unique=True,
                            ),
                        ),
                        ("model", models.CharField(max_length=200)),
                        (
                            "fallbacks",
                            models.JSONField(
                                blank=True, default=list, help_text='[{"provider": "<id>", "model": "<name>"}, ...]'
                            ),
                        ),
                        ("max_output_tokens", models.PositiveIntegerField(default=1024)),
                        ("temperature", models.FloatField(default=0.2)),
                        ("timeout_seconds", models.PositiveIntegerField(default=60)),
                        (
                            "provider",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.PROTECT, related_name="routes", to="llm.llmprovider"
                            ),
                        ),
                    ],
                ),
            ],
            database_operations=[
                migrations.RunSQL(
                    sql=[f"ALTER TABLE agent_{table} RENAME TO llm_{table}" for table in TABLES],
                    reverse_sql=[f"ALTER TABLE llm_{table} RENAME TO agent_{table}" for table in TABLES],
                ),
            ],
        ),
        migrations.RunPython(relabel_content_types, unrelabel_content_types),
    ]
