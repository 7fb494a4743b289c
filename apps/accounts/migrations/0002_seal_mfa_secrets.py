"""Seal the two-factor secrets stored before apps/accounts/mfa_adapter.py existed (they were plaintext)."""

from typing import Any

from django.db import migrations

FIELDS = {"totp": ["secret"], "recovery_codes": ["seed"]}


def seal_existing(apps: Any, schema_editor: Any) -> None:
    from apps.core.secrets import INSTALL_PREFIX, seal_install

    authenticator = apps.get_model("mfa", "Authenticator")
    alias = schema_editor.connection.alias  # migrations may run as the owner role, not the default connection
    for row in authenticator.objects.using(alias).filter(type__in=list(FIELDS)):
        data = dict(row.data)
        changed = False
        for field in FIELDS[row.type]:
            value = data.get(field)
            if isinstance(value, str) and not value.startswith(INSTALL_PREFIX):
                data[field], changed = seal_install(value, purpose="mfa"), True
        codes = data.get("migrated_codes")
        if isinstance(codes, list) and any(not str(c).startswith(INSTALL_PREFIX) for c in codes):
            data["migrated_codes"] = [
                c if str(c).startswith(INSTALL_PREFIX) else seal_install(c, purpose="mfa") for c in codes
            ]
            changed = True
        if changed:
            row.data = data
            row.save(update_fields=["data"], using=alias)


class Migration(migrations.Migration):
    dependencies = [("accounts", "0001_initial"), ("mfa", "0003_authenticator_type_uniq")]
    operations = [migrations.RunPython(seal_existing, migrations.RunPython.noop)]
