"""Tenant-aware Celery on the real Redis, and /ready seeing (or missing) a live worker."""

import json
from typing import Any

from django.test import Client as HttpClient
from django_tenants.utils import tenant_context

from tenants.tasks import probe


def test_health_answers_whatever_the_host() -> None:
    for host in ("localhost", "10.0.0.7", "unknown.example"):
        response = HttpClient(HTTP_HOST=host).get("/health")
        assert response.status_code == 200 and response.json() == {"status": "ok"}


def test_ready_is_503_naming_the_worker_when_none_runs(db: None) -> None:
    response = HttpClient().get("/ready")
    assert response.status_code == 503
    body = response.json()
    assert body["failing"] == ["worker"]
    assert body["checks"]["database"] == "ok" and body["checks"]["redis"] == "ok"
    assert "no live Celery worker" in body["checks"]["worker"]


def test_ready_names_redis_when_it_is_unreachable(db: None, settings: Any) -> None:
    settings.REDIS_URL = "unix:///nonexistent/redis.sock"
    body = HttpClient().get("/ready").json()
    assert body["failing"] == ["redis", "worker"]
    assert body["checks"]["redis"].startswith("redis unreachable")


def test_ready_is_200_with_a_live_worker(db: None, celery_worker: Any) -> None:
    response = HttpClient().get("/ready")
    assert response.status_code == 200, response.content
    assert json.loads(response.content)["status"] == "ready"


def test_tasks_run_inside_the_senders_client_schema(hartwell: Any, dearborn: Any, celery_worker: Any) -> None:
    with tenant_context(hartwell):
        in_hartwell = probe.delay().get(timeout=20)
    with tenant_context(dearborn):
        in_dearborn = probe.delay().get(timeout=20)
    public = probe.delay().get(timeout=20)
    assert in_hartwell == {"schema": "hartwell", "client": "Hartwell Law", "admin_log_rows": 1}
    assert in_dearborn == {"schema": "dearborn", "client": "Dearborn CPA", "admin_log_rows": 0}
    assert public["schema"] == "public"
