from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("tickets", "0008_ticketsource_kind_halopsa"),
    ]

    operations = [
        migrations.AlterField(
            model_name="ticketsource",
            name="kind",
            field=models.CharField(
                choices=[
                    ("email", "Email (IMAP + SMTP)"),
                    ("webhook", "Generic webhook"),
                    ("zendesk", "Zendesk"),
                    ("freshdesk", "Freshdesk"),
                    ("zoho", "Zoho Desk"),
                    ("github", "GitHub Issues"),
                    ("linear", "Linear"),
                    ("halopsa", "HaloPSA"),
                    ("connectwise", "ConnectWise PSA"),
                ],
                max_length=32,
            ),
        ),
    ]
