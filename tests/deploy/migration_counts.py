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


# Other apps' migrations that depend on the latest tickets one (billing's) are rolled back with it and applied
# again: the line counts them too, so only the tickets part is pinned.
OTHER_APPS = r"(?:[a-z_]+ \d+, )*"


def applied(count: int) -> str:
    """The upgrade's line for a schema that got ``count`` tickets migrations, as a regular expression."""
    return rf"\d+ migrations? applied \({OTHER_APPS}tickets {count}(?:, [a-z_]+ \d+)*\)"


def summary(total: int) -> str:
    """The upgrade's summary for ``total`` tickets migrations over two client schemas, as a regular expression."""
    return rf"Applied \d+ migrations in 2 of \d+ schemas: {OTHER_APPS}tickets {total}\b"
