"""Counters add up across processes: what two separate processes counted, one scrape reports as the sum
(prometheus-client's multiprocess mode, as ./gaby run sets it up for web workers and Celery children)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from prometheus_client import generate_latest

from apps.observability import endpoint, multiproc
from tests.observability.conftest import parse, value

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parents[2]
COUNT = (
    "from apps.observability import metrics\n"
    "metrics.INVESTIGATIONS.labels('hartwell', 'needs_tech', 'playbook').inc()\n"
    "metrics.LLM_LATENCY.labels('openai').observe(0.3)\n"
)


def _child(directory: Path) -> None:
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(directory), "PYTHONPATH": str(ROOT)}
    subprocess.run([sys.executable, "-c", COUNT], env=env, check=True, cwd=ROOT)


def test_two_processes_counts_are_summed_by_one_scrape(world: Any, tmp_path: Path, monkeypatch: Any) -> None:
    monkeypatch.delenv(multiproc.VARIABLE, raising=False)
    directory = multiproc.prepare(tmp_path / "metrics")
    _child(directory)
    _child(directory)
    assert len(list(directory.glob("*.db"))) >= 2  # one file per process
    samples = parse(generate_latest(endpoint.registry(str(directory))).decode())
    assert (
        value(samples, "gaby_investigations_total", client="hartwell", verdict="needs_tech", decided_by="playbook") == 2
    )
    assert value(samples, "gaby_llm_call_duration_seconds_count", provider="openai") == 2
    assert value(samples, "gaby_scrape_ok", part="approvals") == 1  # the state read now is added to the sum


def test_a_new_run_starts_from_zero(tmp_path: Path, monkeypatch: Any) -> None:
    monkeypatch.delenv(multiproc.VARIABLE, raising=False)
    directory = multiproc.prepare(tmp_path / "metrics")
    assert os.environ[multiproc.VARIABLE] == str(directory)  # exported for the processes started next
    _child(directory)
    assert list(directory.glob("*.db"))
    multiproc.prepare(tmp_path / "ignored")  # the variable, once set, wins over the default
    assert not list(directory.glob("*.db"))
    assert not (tmp_path / "ignored").exists()
