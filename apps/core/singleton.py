"""One settings row per client schema, the one way: a unique ``singleton`` column and ``get_or_create``.

``Model.objects.one()`` returns the row, creating it with the defaults the first time. Two first requests at once
cannot make two rows: the unique column refuses the second insert and ``get_or_create`` reads the row that won.
``Model.objects.existing()`` reads without creating, for settings whose absence means the install's default.
"""

from __future__ import annotations

from typing import TypeVar

from django.db import models

M = TypeVar("M", bound=models.Model)


class SingletonManager(models.Manager[M]):
    def one(self) -> M:
        row, _ = self.get_or_create(singleton=True)
        return row

    def existing(self) -> M | None:
        return self.filter(singleton=True).first()


class Singleton(models.Model):
    singleton = models.BooleanField(default=True, unique=True, editable=False)

    objects = SingletonManager()

    class Meta:
        abstract = True
