"""The built-in templates (builtin/*.yaml): seeded by a data migration, each at version 1, edited like any other."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from apps.onboarding.client_templates.spec import changed_sections, parse

BUILTIN_DIR = Path(__file__).with_name("builtin")


def builtin_files() -> list[Path]:
    return sorted(BUILTIN_DIR.glob("*.yaml"))


def seed_builtin(apps: Any, schema_editor: Any) -> None:
    """Create each built-in template that is missing (by key); an edited one is left as MSP staff made it."""
    from django_tenants.utils import get_public_schema_name

    if schema_editor.connection.schema_name != get_public_schema_name():
        return
    # The migration's own connection: with a separate owner role (tenants/db_privileges.py), "default" is the
    # application role, which gets its grants on these tables only after the migration.
    alias = schema_editor.connection.alias
    templates = apps.get_model("client_templates", "ClientTemplate").objects.using(alias)
    versions = apps.get_model("client_templates", "TemplateVersion").objects.using(alias)
    for path in builtin_files():
        key = path.stem
        if templates.filter(key=key).exists():
            continue
        text = path.read_text(encoding="utf-8")
        spec = parse(text)
        template = templates.create(key=key, name=spec.name, description=spec.description, builtin=True)
        versions.create(
            template=template,
            number=1,
            yaml=text,
            spec=spec.model_dump(mode="json"),
            changed=changed_sections(None, {}),
        )
