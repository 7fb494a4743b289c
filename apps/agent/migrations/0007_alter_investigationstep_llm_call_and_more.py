"""The LLM models left for apps/llm (its 0001 renamed their tables): state only, nothing to change in the database."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("agent", "0006_knowledge_threshold_038"),
        ("knowledge", "0008_alter_embeddingsettings_provider"),
        ("llm", "0001_initial"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="investigationstep",
                    name="llm_call",
                    field=models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="steps",
                        to="llm.llmcall",
                    ),
                ),
                migrations.RemoveField(
                    model_name="modelroute",
                    name="provider",
                ),
                migrations.DeleteModel(
                    name="LLMCall",
                ),
                migrations.DeleteModel(
                    name="LLMProvider",
                ),
                migrations.DeleteModel(
                    name="ModelRoute",
                ),
            ],
        ),
    ]
