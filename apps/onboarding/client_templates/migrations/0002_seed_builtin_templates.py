"""Seed the built-in onboarding templates: Law firm, Accounting firm, Dental office (builtin/*.yaml)."""

from django.db import migrations

from apps.onboarding.client_templates.seed import seed_builtin


class Migration(migrations.Migration):
    dependencies = [("client_templates", "0001_initial")]

    operations = [migrations.RunPython(seed_builtin, migrations.RunPython.noop)]
