"""One settings row per client schema, the one way: a unique ``singleton`` column.

``Model.objects.one()`` returns the row, creating it with the defaults the first time: one query when it exists,
three the first time (read, ``INSERT … ON CONFLICT DO NOTHING``, read), and no savepoint, so it costs nothing extra
inside a caller's transaction. Two first requests at once cannot make two rows nor fail: the unique column turns the
second insert into nothing, and both read the row that won. ``Model.objects.existing()`` reads without creating, for
settings whose absence means the install's default.
"""

from __future__ import annotations

from typing import TypeVar

from django.db import models

M = TypeVar("M", bound=models.Model)


class SingletonManager(models.Manager[M]):
    def one(self) -> M:
        row = self.existing()
        if row is None:
            self.bulk_create([self.model()], ignore_conflicts=True)
            row = self.get(singleton=True)
        return row

    def existing(self) -> M | None:
        return self.filter(singleton=True).first()


class Singleton(models.Model):
    singleton = models.BooleanField(default=True, unique=True, editable=False)

    objects = SingletonManager()

    class Meta:
        abstract = True
