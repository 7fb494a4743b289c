"""Observability fixtures: the investigation set-up of tests/agent (a ticket, knowledge, the billing connector)
and a scrape of /metrics parsed by prometheus_client's own parser."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Any

import pytest
from django.test import Client as HttpClient
from prometheus_client.parser import text_string_to_metric_families

from tests.agent.conftest import _media_root, billing_db, knowledge, make_ticket, source  # noqa: F401
from tests.agent.helpers import classify, investigate, route_all, verdict
from tests.connectors.conftest import sample_url  # noqa: F401
from tests.llm_server import Reply, ScriptedLLM

PLAN_QUERY = {
    "name": "Billing_DB__query",
    "arguments": {"sql": "SELECT plan FROM customers WHERE email = $1", "params": ["[EMAIL_1]"]},
}
Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def parse(text: str) -> Samples:
    """Every sample of an exposition, by name and label set."""
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    """The sample named ``name`` with exactly these labels, 0 when it is not there yet."""
    return samples.get((name, frozenset(labels.items())), 0.0)


@pytest.fixture
def scrape() -> Callable[..., Samples]:
    def read(**headers: Any) -> Samples:
        response = HttpClient().get("/metrics", HTTP_HOST="prometheus.internal", **headers)
        assert response.status_code == 200, response.content
        assert response["Content-Type"].startswith("text/plain")
        return parse(response.content.decode())

    return read


@pytest.fixture
def run_with_one_tool_call(
    make_ticket: Any,  # noqa: F811 (the fixture imported above)
    billing_db: Any,  # noqa: F811
    knowledge: Any,  # noqa: F811
    llm: ScriptedLLM,
    in_hartwell: Any,
) -> Any:
    """A real investigation through the engine: the scripted model classifies, asks for one query of the billing
    database (through the safety gate), says DONE and gives a cited verdict."""

    def run(**ticket: Any) -> Any:
        route_all(in_hartwell, llm)
        llm.then(
            classify(),
            Reply("", tool_calls=[PLAN_QUERY]),
            Reply("DONE"),
            verdict(summary="Pro [T1] per [K1].", reply="You are on the pro plan.", citations=["T1", "K1"]),
        )
        return investigate(make_ticket(**ticket))

    return run


@pytest.fixture
def committed(django_capture_on_commit_callbacks: Any) -> Callable[[], AbstractContextManager[None]]:
    """``with committed():`` runs, when the block ends, the counting that waits for a commit (the test's transaction
    never commits). Only this app's: the block's other commit hooks (tasks sent to the broker, live events) are
    dropped, so nothing is left queued for another test's worker."""

    @contextmanager
    def block() -> Iterator[None]:
        with django_capture_on_commit_callbacks(execute=False) as callbacks:
            yield
        for callback in callbacks:
            if getattr(callback, "__module__", "").startswith("apps.observability."):
                callback()

    return block
