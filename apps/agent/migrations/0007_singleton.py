"""AgentSettings becomes one row per schema by constraint (apps/core/singleton.py). The racy ``first() or create()``
may have left more than one row; the one it read is the first by id, so the others are removed first."""

from typing import Any

from django.db import migrations, models


def keep_the_row_in_use(apps: Any, schema_editor: Any) -> None:
    rows = apps.get_model("agent", "AgentSettings").objects.using(schema_editor.connection.alias)
    first = rows.order_by("id").values_list("id", flat=True).first()
    if first is not None:
        rows.exclude(id=first).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("agent", "0006_knowledge_threshold_038"),
    ]

    operations = [
        migrations.RunPython(keep_the_row_in_use, migrations.RunPython.noop),
        migrations.AddField(
            model_name="agentsettings",
            name="singleton",
            field=models.BooleanField(default=True, editable=False, unique=True),
        ),
    ]
