"""What an Admin told the checklist that no other setting records: "no LLM is my choice", "keep this autonomy"."""

from __future__ import annotations

from django.db import models

from apps.core.singleton import Singleton


class SetupChoices(Singleton):
    """One row per client schema. A step is done by real state (a source, a widget...) or by one of these choices."""

    confirmed = models.JSONField(default=list, blank=True, help_text="Keys of steps an Admin confirmed as they are.")
    hidden_at = models.DateTimeField(null=True, blank=True, help_text="When an Admin hid the checklist from the inbox.")
