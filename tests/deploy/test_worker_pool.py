"""The Celery pool ``./gaby run`` starts: up to GABY_WORKER_CONCURRENCY children while there is work, down to
GABY_WORKER_MIN_CONCURRENCY once idle (docs/operations/sizing.md), and a clear error for a value that is not one."""

from __future__ import annotations

import pytest

from gaby_site import launcher


def worker_command(monkeypatch: pytest.MonkeyPatch, **env: str) -> list[str]:
    for name in ("GABY_WORKER_CONCURRENCY", "GABY_WORKER_MIN_CONCURRENCY"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return launcher.process_commands("127.0.0.1", 8000, None)["worker"]


def test_the_pool_grows_to_two_and_shrinks_to_one_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    command = worker_command(monkeypatch)
    assert "--autoscale=2,1" in command and "--concurrency" not in command


def test_the_knobs_set_both_bounds_and_the_floor_never_exceeds_the_ceiling(monkeypatch: pytest.MonkeyPatch) -> None:
    assert "--autoscale=4,2" in worker_command(
        monkeypatch, GABY_WORKER_CONCURRENCY="4", GABY_WORKER_MIN_CONCURRENCY="2"
    )
    assert "--autoscale=1,1" in worker_command(monkeypatch, GABY_WORKER_CONCURRENCY="1")


@pytest.mark.parametrize("value", ["two", "0", "-1", "65"])
def test_a_pool_size_that_is_not_one_says_what_to_give(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    with pytest.raises(SystemExit, match=r"GABY_WORKER_CONCURRENCY=.*whole number of worker processes from 1 to 64"):
        worker_command(monkeypatch, GABY_WORKER_CONCURRENCY=value)
