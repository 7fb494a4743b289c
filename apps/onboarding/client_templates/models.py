"""Onboarding templates (MSP-8), in the public schema: a template, its versions, and which version each client got.

A template's content is its YAML (``spec.py`` reads and validates it). Every edit is a new ``TemplateVersion``
(who, when, the YAML, the sections that changed); versions are never edited, so the version a client was
onboarded with stays readable forever.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models

from apps.core.ids import uuid7


class ClientTemplate(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    key = models.SlugField(max_length=60, unique=True, help_text="Names it in the CLI, e.g. law-firm; never changes.")
    name = models.CharField(max_length=120, help_text="The latest version's name.")
    description = models.TextField(blank=True, help_text="The latest version's description.")
    builtin = models.BooleanField(default=False, help_text="Seeded with Gaby; MSP staff may still edit it.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def latest(self) -> TemplateVersion:
        return self.versions.order_by("-number").first()  # type: ignore[return-value]


class TemplateVersion(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    template = models.ForeignKey(ClientTemplate, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField()
    yaml = models.TextField(help_text="The template as MSP staff wrote it.")
    spec = models.JSONField(help_text="The validated spec, as spec.TemplateSpec.model_dump().")
    changed = models.JSONField(default=list, blank=True, help_text="Sections that differ from the version before.")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["template", "-number"]
        constraints = [models.UniqueConstraint(fields=["template", "number"], name="template_version_unique_number")]

    def __str__(self) -> str:
        return f"{self.template.name} v{self.number}"


class ClientTemplateUse(models.Model):
    """The template version a client was onboarded with (or last re-applied); one row per client."""

    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    client = models.OneToOneField("tenants.Client", on_delete=models.CASCADE, related_name="template_use")
    version = models.ForeignKey(TemplateVersion, on_delete=models.PROTECT, related_name="uses")
    applied_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    applied_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.client} ← {self.version}"
