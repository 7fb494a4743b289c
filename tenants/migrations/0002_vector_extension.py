from django.db import migrations


class Migration(migrations.Migration):
    """pgvector is created once, in the public schema; client schemas see it through search_path."""

    dependencies = [("tenants", "0001_initial")]

    operations = [migrations.RunSQL("CREATE EXTENSION IF NOT EXISTS vector", reverse_sql=migrations.RunSQL.noop)]
