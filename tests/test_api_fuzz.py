"""A bounded schemathesis run over the whole OpenAPI of a client's API: no input may give a server error, and every
status code must be one the schema documents (issue 18, item 9). Each generated request goes through Django's
whole request stack (middleware, tenancy, API-key auth) with Django's test client, inside the test's transaction, so
the writes it makes are rolled back; schemathesis generates the cases and judges the responses."""

from __future__ import annotations

import os
from collections import Counter
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests
import schemathesis
from django.db import transaction
from django.test import Client as HttpClient
from django_tenants.utils import tenant_context
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error, status_code_conformance

from apps.apikeys import services as keys

pytestmark = pytest.mark.django_db
EXAMPLES = int(os.environ.get("GABY_FUZZ_EXAMPLES", "25"))  # per operation; the suite stays bounded


HOST = "hartwell.localhost"
FIELDS = ("method", "url", "headers", "params", "json", "data", "files", "cookies")


def _send(browser: HttpClient, case: Any, headers: dict[str, str]) -> schemathesis.Response:
    kwargs = case.as_transport_kwargs(base_url=f"http://{HOST}", headers=headers)
    prepared = requests.Request(**{k: kwargs[k] for k in FIELDS if k in kwargs}).prepare()
    url = urlsplit(prepared.url or "")
    body = prepared.body.encode() if isinstance(prepared.body, str) else (prepared.body or b"")
    sent = {k: v for k, v in prepared.headers.items() if k.lower() not in {"content-type", "content-length", "host"}}
    with transaction.atomic():  # a savepoint per request: one failed statement must not abort the next requests
        response = browser.generic(
            prepared.method or "GET",
            f"{url.path}?{url.query}" if url.query else url.path,
            data=body,
            content_type=prepared.headers.get("Content-Type", ""),
            headers=sent,
        )
        transaction.set_rollback(True)
    return schemathesis.Response(
        status_code=response.status_code,
        headers={k.lower(): [v] for k, v in response.headers.items()},
        content=response.content,
        request=prepared,
        elapsed=0.0,
        verify=False,
    )


def _failures(operation: Any, headers: dict[str, str], mode: GenerationMode) -> list[str]:
    browser = HttpClient(HTTP_HOST=HOST, raise_request_exception=False)
    found: list[str] = []

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        derandomize=True,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    def run(case: Any) -> None:
        response = _send(browser, case, headers)
        try:
            case.validate_response(response, checks=[not_a_server_error, status_code_conformance])
        except (AssertionError, BaseExceptionGroup) as exc:  # every failure is collected and reported together
            title = str(exc).splitlines()[2:3] or [type(exc).__name__]
            found.append(
                f"{operation.method.upper()} {operation.path} → {response.status_code}: {title[0].strip()} "
                f"{case.as_curl_command(headers=headers)[:300]}"
            )

    run()
    return found


def test_no_input_gives_a_server_error_or_an_undocumented_status(world: Any, hartwell: Any, people: Any) -> None:
    with tenant_context(hartwell):
        token = keys.create_key(name="Fuzz", role="admin", actor=people["alice"])[1]
    member = HttpClient(HTTP_HOST=HOST)
    member.force_login(people["alice"])
    schema = schemathesis.openapi.from_dict(member.get("/api/v1/openapi.json").json())
    headers = {"Authorization": f"Bearer {token}"}
    failures: list[str] = []
    operations = [result.ok() for result in schema.get_all_operations()]
    for operation in operations:
        for mode in GenerationMode:  # valid inputs, then inputs the schema forbids
            failures += _failures(operation, headers, mode)
    summary = Counter(f.split(":")[0] for f in failures)
    print(f"{len(operations)} operations, {EXAMPLES} examples each; failures by operation: {summary}")
    assert not failures, "\n".join(dict.fromkeys(failures))
