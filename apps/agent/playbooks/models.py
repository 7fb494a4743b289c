"""A client's playbooks (in its schema): its own, its overrides of shipped ones, and switches for shipped ones."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from apps.core.ids import uuid7


class ClientPlaybook(models.Model):
    """One playbook name for this client.

    With YAML: the client's own playbook, or its override of the shipped playbook of the same name. Without:
    only a switch turning the shipped playbook of that name on or off. Shipped playbooks apply unless a row
    here disables them.
    """

    id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    name = models.CharField(max_length=80, unique=True)
    yaml = models.TextField(blank=True, help_text="Empty: this row only enables or disables the shipped playbook.")
    enabled = models.BooleanField(default=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,
        related_name="+",
        db_constraint=False,
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name
