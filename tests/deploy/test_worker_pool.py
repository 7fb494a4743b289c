"""The Celery pool ``./gaby run`` starts: GABY_WORKER_CONCURRENCY children (2; docs/operations/sizing.md), and a clear
error for a value that is not a number of processes."""

from __future__ import annotations

import pytest

from gaby_site import launcher


def worker_command(monkeypatch: pytest.MonkeyPatch, value: str | None) -> list[str]:
    monkeypatch.delenv("GABY_WORKER_CONCURRENCY", raising=False)
    if value is not None:
        monkeypatch.setenv("GABY_WORKER_CONCURRENCY", value)
    return launcher.process_commands("127.0.0.1", 8000, None)["worker"]


def pool_size(command: list[str]) -> str:
    return command[command.index("--concurrency") + 1]


def test_two_children_by_default_and_the_knob_sets_them(monkeypatch: pytest.MonkeyPatch) -> None:
    assert pool_size(worker_command(monkeypatch, None)) == "2"
    assert pool_size(worker_command(monkeypatch, " 1 ")) == "1"


@pytest.mark.parametrize("value", ["two", "0", "-1", "65", ""])
def test_a_pool_size_that_is_not_one_says_what_to_give(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    with pytest.raises(SystemExit, match=r"GABY_WORKER_CONCURRENCY=.*whole number of worker processes from 1 to 64"):
        worker_command(monkeypatch, value)
