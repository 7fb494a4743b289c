"""How many migrations an upgrade applies to a schema rolled back to a given one: the upgrade tests' expectations
grow with the migrations added after it, so they are counted, not written down."""

from __future__ import annotations

from pathlib import Path

from django.conf import settings


def tickets_after(name: str) -> int:
    """How many tickets migrations come after ``name``: what an upgrade applies to a schema rolled back to it (the
    count grows as migrations are added; the test must not)."""
    names = sorted(path.stem for path in (Path(settings.BASE_DIR) / "apps/tickets/migrations").glob("0*.py"))
    return len(names) - names.index(name) - 1


def applied(count: int) -> str:
    """The upgrade's line for a schema that got ``count`` tickets migrations, as a regular expression."""
    return f"{count} migration{'s' if count != 1 else ''} applied \\(tickets {count}\\)"
