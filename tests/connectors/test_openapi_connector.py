"""The OpenAPI connector against a real local REST API serving its own document (tests/connectors/api_server.py)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from django.core.exceptions import ValidationError

from apps.connectors import services
from apps.connectors.calls import ConnectorUnavailable
from apps.connectors.models import Access, Connector, ConnectorTool
from apps.connectors.servers.openapi.operations import build_operations, parse_document
from apps.connectors.specs import openapi_draft
from tests.connectors.api_server import DOCUMENT, TOKEN


def _call(connector: Connector, tool: str, **arguments: Any) -> Any:
    return services.execute_tool_call(connector=connector, tool_name=tool, arguments=arguments, actor=None)


def _connect(client: Any, actor: Any, **settings: Any) -> Connector:
    return services.connect(client=client, draft=openapi_draft(name="Acme Billing", **settings), actor=actor)


@pytest.fixture
def billing(in_hartwell: Any, people: dict[str, Any], api: Any) -> Connector:
    return _connect(
        in_hartwell, people["alice"], spec=api.yaml_url, auth="bearer", secret=TOKEN, read_ops=["searchInvoices"]
    )


def test_one_tool_per_operation_classified_by_method(billing: Connector) -> None:
    access = dict(billing.tools.values_list("name", "access"))
    assert access == {
        "listCustomers": Access.READ,
        "getCustomer": Access.READ,
        "getFlaky": Access.READ,
        "getBroken": Access.READ,
        "searchInvoices": Access.READ,  # a POST the admin declared a read
        "createRefund": Access.WRITE,
        "logoutSessions": Access.WRITE,
    }
    refund = billing.tools.get(name="createRefund")
    assert refund.input_schema["required"] == ["customerId", "body"]
    assert refund.input_schema["$defs"]["Refund"]["properties"]["reason"]["type"] == ["string", "null"]
    assert refund.input_schema["properties"]["dry_run"] == {
        "type": "boolean",
        "default": True,
        "description": "Return the exact request without sending it (the default). Set false to send it.",
    }
    assert refund.description.startswith("POST /customers/{customerId}/refunds — Refund a customer")


def test_reads_call_the_api_with_the_sealed_token(billing: Connector, api: Any) -> None:
    one = _call(billing, "getCustomer", customerId="cus_1")
    assert not one.is_error and one.structured == {
        "status": 200,
        "body": {"id": "cus_1", "email": "ana@example.com", "plan": "pro"},
    }
    assert one.text.startswith("HTTP 200 OK from GET http://127.0.0.1:")
    assert api.requests[-1]["headers"]["Authorization"] == f"Bearer {TOKEN}"
    listed = _call(billing, "listCustomers", email="nobody@example.com")
    assert listed.structured["body"] == {"data": []} and api.requests[-1]["query"] == {"email": ["nobody@example.com"]}
    missing = _call(billing, "getCustomer", customerId="cus/../x")
    assert missing.is_error and "HTTP 404" in missing.text and api.requests[-1]["path"] == "/v1/customers/cus%2F..%2Fx"
    assert TOKEN not in billing.sealed_config and TOKEN not in json.dumps(list(billing.events.values()), default=str)


def test_a_write_is_a_dry_run_showing_the_exact_request_until_told_otherwise(billing: Connector, api: Any) -> None:
    before = len(api.requests)
    dry = _call(billing, "createRefund", customerId="cus_1", body={"amount": 500, "reason": None})
    assert not dry.is_error and len(api.requests) == before  # nothing was sent
    request = dry.structured["request"]
    assert request["method"] == "POST" and request["url"].endswith("/v1/customers/cus_1/refunds")
    assert request["headers"]["Authorization"] == "Bearer •••" and request["body"] == {"amount": 500, "reason": None}
    assert TOKEN not in dry.text and dry.text.startswith("Dry run: nothing was sent.")

    sent = _call(billing, "createRefund", customerId="cus_1", body={"amount": 500}, dry_run=False)
    assert sent.structured == {"status": 201, "body": {"id": "re_1", "amount": 500}}
    assert api.requests[-1]["method"] == "POST" and api.requests[-1]["body"] == {"amount": 500}
    assert api.requests[-1]["headers"]["Content-Type"] == "application/json"


def test_arguments_are_checked_against_the_documents_schema(billing: Connector, api: Any) -> None:
    before = len(api.requests)
    with pytest.raises(services.ToolCallRefused, match="Invalid arguments for createRefund"):
        _call(billing, "createRefund", customerId="cus_1", body={"amount": 0})
    with pytest.raises(services.ToolCallRefused, match="'customerId' is a required property"):
        _call(billing, "getCustomer")
    assert len(api.requests) == before


def test_retries_a_429_and_survives_a_malformed_body(billing: Connector, api: Any) -> None:
    flaky = _call(billing, "getFlaky")
    assert flaky.structured == {"status": 200, "body": {"ok": True}}
    assert [r["path"] for r in api.requests[-2:]] == ["/v1/flaky", "/v1/flaky"]
    broken = _call(billing, "getBroken")
    assert not broken.is_error and broken.structured["body"] == '{"truncated": '


@pytest.mark.parametrize(
    ("auth", "extra", "where"),
    [
        ("header", {"auth_name": "X-Api-Key"}, lambda r: r["headers"]["X-Api-Key"] == "k-123"),
        ("query", {"auth_name": "api_key"}, lambda r: r["query"]["api_key"] == ["k-123"]),
        ("basic", {"username": "ops"}, lambda r: r["headers"]["Authorization"] == "Basic b3BzOmstMTIz"),
    ],
)
def test_api_key_and_basic_authentication(
    in_hartwell: Any, people: dict[str, Any], api: Any, auth: str, extra: dict[str, str], where: Any
) -> None:
    connector = _connect(in_hartwell, people["alice"], spec=api.url, auth=auth, secret="k-123", **extra)
    denied = _call(connector, "listCustomers")  # the test API wants a bearer token: 401, but the key was sent
    assert denied.is_error and "HTTP 401" in denied.text and where(api.requests[-1])
    dry = _call(connector, "logoutSessions", customerId="cus_1")
    assert "k-123" not in dry.text and "•••" in dry.text


def test_a_file_document_with_a_base_url_override(
    in_hartwell: Any, people: dict[str, Any], api: Any, tmp_path: Path
) -> None:
    document = tmp_path / "billing.json"
    document.write_text(json.dumps(DOCUMENT))
    base = api.url.removesuffix("/openapi.json") + "/v1"
    with pytest.raises(ConnectorUnavailable, match="server URL '/v1' is relative: set the base URL"):
        services.test_connection(
            client=in_hartwell, draft=openapi_draft(name="f", spec=str(document)), actor=people["mona"]
        )
    connector = _connect(
        in_hartwell,
        people["mona"],
        spec=str(document),
        base_url=base,
        auth="bearer",
        secret=TOKEN,
        write_ops=["getFlaky"],
    )
    assert ConnectorTool.objects.get(connector=connector, name="getFlaky").access == Access.WRITE
    assert _call(connector, "getCustomer", customerId="cus_1").structured["status"] == 200


def test_client_admins_load_documents_over_http_only(in_hartwell: Any, people: dict[str, Any], tmp_path: Path) -> None:
    draft = openapi_draft(name="f", spec=str(tmp_path / "x.json"))
    with pytest.raises(ValidationError, match="only MSP staff may load a file"):
        services.test_connection(client=in_hartwell, draft=draft, actor=people["alice"])
    with pytest.raises(ValidationError, match="Enter the token"):
        services.test_connection(
            client=in_hartwell, draft=openapi_draft(name="f", spec="https://x", auth="bearer"), actor=people["alice"]
        )


def test_a_document_that_is_not_openapi_fails_the_connection_test(
    in_hartwell: Any, people: dict[str, Any], api: Any
) -> None:
    draft = openapi_draft(name="f", spec=api.url.replace("openapi.json", "not-openapi.json"))
    with pytest.raises(ConnectorUnavailable, match="not an OpenAPI 3 document"):
        services.test_connection(client=in_hartwell, draft=draft, actor=people["alice"])


def test_operations_without_an_id_get_a_name_and_names_stay_unique() -> None:
    document = parse_document(
        json.dumps(
            {
                "openapi": "3.1.0",
                "paths": {
                    "/items/{id}": {
                        "get": {"parameters": [{"name": "id", "in": "path"}, {"name": "id", "in": "query"}]},
                        "delete": {"operationId": "get_items_id"},
                    }
                },
            }
        ),
        source="inline",
    )
    operations = {op.tool: op for op in build_operations(document)}
    assert set(operations) == {"get_items_id", "get_items_id_delete"}
    assert sorted(operations["get_items_id"].input_schema["properties"]) == ["path_id", "query_id"]


def test_through_the_safety_gate_a_dry_run_scope_shows_the_request_and_sends_nothing(
    billing: Connector, api: Any, in_hartwell: Any
) -> None:
    from apps.safety.enforcement import CallContext, run_tool
    from apps.safety.models import ActionStatus

    Connector.objects.filter(pk=billing.pk).update(scope="dry_run")
    billing.refresh_from_db()
    before = len(api.requests)
    action = run_tool(
        connector=billing,
        tool_name="createRefund",
        arguments={"customerId": "cus_1", "body": {"amount": 7}},
        context=CallContext(idempotency_key="refund-1"),
    )
    assert action.status == ActionStatus.DRY_RUN and len(api.requests) == before
    assert '"url": "http://127.0.0.1:' in action.result_text and "/v1/customers/cus_1/refunds" in action.result_text
    assert TOKEN not in action.result_text and "Bearer •••" in action.result_text
    read = run_tool(
        connector=billing,
        tool_name="getCustomer",
        arguments={"customerId": "cus_1"},
        context=CallContext(idempotency_key="read-1"),
    )
    assert read.status == ActionStatus.DONE and "ana@example.com" in read.result_text
