import pgvector.django.indexes
import pgvector.django.vector
from django.db import migrations

# Documents indexed before this migration get their vector from the chunks they already have.
BACKFILL = """
    UPDATE knowledge_document d SET embedding = v.mean
    FROM (
        SELECT document_id, avg(embedding) AS mean FROM knowledge_chunk
        WHERE embedding IS NOT NULL GROUP BY document_id
    ) v
    WHERE v.document_id = d.id AND d.deleted_at IS NULL
"""


class Migration(migrations.Migration):
    dependencies = [
        ("knowledge", "0002_source_heartbeat"),
    ]

    operations = [
        migrations.AddField(
            model_name="document",
            name="embedding",
            field=pgvector.django.vector.VectorField(blank=True, dimensions=384, null=True),
        ),
        migrations.RunSQL(BACKFILL, migrations.RunSQL.noop),
        migrations.AddIndex(
            model_name="document",
            index=pgvector.django.indexes.HnswIndex(
                ef_construction=64,
                fields=["embedding"],
                m=16,
                name="knowledge_document_embedding",
                opclasses=["vector_cosine_ops"],
            ),
        ),
    ]
