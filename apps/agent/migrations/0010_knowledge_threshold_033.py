"""The knowledge answer's default threshold becomes 0.33, now that an abstain band (a passage must stand 0.04 ahead
of the next page, apps/agent/knowledge_confidence.py) guards it. Clients still on the old default (0.38) move
with it; a threshold an Admin chose stays as it is."""

from django.db import migrations, models

OLD, NEW = 0.38, 0.33


def forwards(apps, schema_editor):  # type: ignore[no-untyped-def]
    apps.get_model("agent", "AgentSettings").objects.using(schema_editor.connection.alias).filter(
        knowledge_threshold=OLD
    ).update(knowledge_threshold=NEW)


def backwards(apps, schema_editor):  # type: ignore[no-untyped-def]
    apps.get_model("agent", "AgentSettings").objects.using(schema_editor.connection.alias).filter(
        knowledge_threshold=NEW
    ).update(knowledge_threshold=OLD)


class Migration(migrations.Migration):
    dependencies = [
        ("agent", "0009_merge_llm_app_and_singleton"),
    ]

    operations = [
        migrations.AlterField(
            model_name="agentsettings",
            name="knowledge_threshold",
            field=models.FloatField(
                default=0.33,
                help_text="No-LLM mode: the least confidence (0-1) of a knowledge answer sent to a customer.",
            ),
        ),
        migrations.RunPython(forwards, backwards),
    ]
