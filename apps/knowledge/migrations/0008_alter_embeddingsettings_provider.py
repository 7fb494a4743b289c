"""The embedding provider is the LLM app's now (apps/llm took the table over): state only, the foreign key
constraint already follows the renamed table."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("knowledge", "0007_candidate_reviewed_by"),
        ("llm", "0001_initial"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="embeddingsettings",
                    name="provider",
                    field=models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="llm.llmprovider",
                    ),
                ),
            ],
        ),
    ]
