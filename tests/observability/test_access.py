"""Who may read /metrics: anyone in development, nobody in production until a token or networks are set."""

from __future__ import annotations

import ipaddress
from typing import Any

import pytest
from django.test import Client as HttpClient

pytestmark = pytest.mark.django_db


def _get(**extra: Any) -> Any:
    return HttpClient().get("/metrics", HTTP_HOST="gaby.internal", **extra)


def test_development_and_tests_leave_it_open(world: Any) -> None:
    assert _get().status_code == 200


def test_production_refuses_until_it_is_protected(world: Any, settings: Any) -> None:
    settings.IS_PRODUCTION = True
    response = _get()
    assert response.status_code == 403
    assert b"GABY_METRICS_TOKEN" in response.content and b"GABY_METRICS_ALLOW" in response.content


def test_a_bearer_token_is_required_once_set(world: Any, settings: Any) -> None:
    settings.IS_PRODUCTION = True
    settings.METRICS_TOKEN = "a-long-scrape-secret"
    missing = _get()
    assert missing.status_code == 401 and missing["WWW-Authenticate"].startswith("Bearer")
    assert _get(HTTP_AUTHORIZATION="Bearer wrong").status_code == 401
    assert _get(HTTP_AUTHORIZATION="Basic a-long-scrape-secret").status_code == 401
    ok = _get(HTTP_AUTHORIZATION="Bearer a-long-scrape-secret")
    assert ok.status_code == 200 and b"gaby_scrape_ok" in ok.content


def test_allowed_networks_and_a_token_both_apply(world: Any, settings: Any) -> None:
    settings.IS_PRODUCTION = True
    settings.METRICS_ALLOW = [ipaddress.ip_network("10.20.0.0/16")]
    assert _get(REMOTE_ADDR="192.168.1.9").status_code == 403
    assert _get(REMOTE_ADDR="10.20.3.4").status_code == 200
    settings.METRICS_TOKEN = "a-long-scrape-secret"
    assert _get(REMOTE_ADDR="10.20.3.4").status_code == 401
    assert _get(REMOTE_ADDR="192.168.1.9", HTTP_AUTHORIZATION="Bearer a-long-scrape-secret").status_code == 403
    assert _get(REMOTE_ADDR="10.20.3.4", HTTP_AUTHORIZATION="Bearer a-long-scrape-secret").status_code == 200


def test_only_get_reads_it(world: Any) -> None:
    response = HttpClient().post("/metrics", HTTP_HOST="gaby.internal")
    assert response.status_code == 405 and response["Allow"] == "GET, HEAD"


def test_a_bad_network_setting_says_what_to_fix(monkeypatch: Any) -> None:
    import subprocess
    import sys

    env = {**__import__("os").environ, "GABY_METRICS_ALLOW": "10.0.0.0/33"}
    result = subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"], env=env, capture_output=True, text=True, check=False
    )
    assert result.returncode != 0
    assert "GABY_METRICS_ALLOW" in result.stderr and "10.0.0.0/8" in result.stderr


def test_a_workers_own_port_applies_the_same_rules(world: Any, settings: Any) -> None:
    """GABY_WORKER_METRICS_PORT: a worker on another host serves its counters, guarded like /metrics."""
    import urllib.error
    import urllib.request

    from apps.observability import metrics, worker_port

    metrics.TASKS.labels("observability.beat_heartbeat", "SUCCESS").inc()
    settings.IS_PRODUCTION = True
    settings.METRICS_TOKEN = "a-long-scrape-secret"
    server = worker_port.serve(0, host="127.0.0.1")  # port 0: any free port
    url = f"http://127.0.0.1:{server.server_address[1]}/metrics"
    try:
        try:
            urllib.request.urlopen(url, timeout=5)
            raise AssertionError("read without the token")
        except urllib.error.HTTPError as refused:
            assert refused.code == 401 and refused.headers["WWW-Authenticate"].startswith("Bearer")
        request = urllib.request.Request(url, headers={"Authorization": "Bearer a-long-scrape-secret"})
        with urllib.request.urlopen(request, timeout=5) as response:
            body = response.read().decode()
    finally:
        server.shutdown()
        server.server_close()
    assert 'gaby_celery_tasks_total{state="SUCCESS",task="observability.beat_heartbeat"}' in body
    assert "gaby_scrape_ok" not in body  # levels are the web's to report: nothing counts twice
