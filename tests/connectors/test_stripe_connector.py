"""The first-party Stripe connector through the real MCP host and run_tool, against the Stripe stand-in."""

from __future__ import annotations

from collections.abc import Iterator
from io import StringIO
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from apps.connectors import services
from apps.connectors.calls import ConnectorUnavailable
from apps.connectors.models import Access, Connector, Kind, Status
from apps.connectors.servers.stripe.client import idempotency_key
from apps.connectors.specs import stripe_draft
from apps.safety.models import ActionStatus
from sandbox.stripe import DEMO_SEED, StripeSandbox
from tests.connectors.vendors import (
    allow_writes,
    call,
    close_sessions,  # noqa: F401 (autouse: servers end with each test)
    result,
)

KEY = "rk_test_gaby_never_in_clear_4242"
SEED: dict[str, Any] = {**DEMO_SEED, "api_keys": [KEY]}


@pytest.fixture
def stripe() -> Iterator[StripeSandbox]:
    with StripeSandbox(SEED) as sandbox:
        yield sandbox


def _connect(client: Any, actor: Any, stripe: StripeSandbox, name: str = "Billing", **settings: Any) -> Connector:
    draft = stripe_draft(name=name, api_key=KEY, api_base=stripe.base_url)
    draft.settings.update(settings)
    return services.connect(client=client, draft=draft, actor=actor)


@pytest.fixture
def billing(in_hartwell: Any, people: dict[str, Any], stripe: StripeSandbox) -> Connector:
    return _connect(in_hartwell, people["alice"], stripe)


def test_it_lists_its_tools_as_reads_and_writes_and_seals_the_key(billing: Connector) -> None:
    access = dict(billing.tools.values_list("name", "access"))
    reads = [
        "find_customer",
        "get_customer",
        "health_check",
        "list_charges",
        "list_invoices",
        "list_payment_intents",
        "list_subscriptions",
    ]
    assert sorted(name for name, kind in access.items() if kind == Access.READ) == reads
    assert sorted(name for name, kind in access.items() if kind == Access.WRITE) == [
        "refund",
        "resend_invoice",
        "retry_invoice_payment",
    ]
    assert billing.kind == Kind.STRIPE and billing.secret_keys == ["setting:api_base", "setting:api_key"]
    with connection.cursor() as cursor:
        cursor.execute("SELECT sealed_config FROM connectors_connector WHERE id = %s", [billing.pk])
        assert KEY not in cursor.fetchone()[0]


def test_reads_show_why_a_payment_failed(billing: Connector, stripe: StripeSandbox) -> None:
    found = result(call(billing, "find_customer", email="billing@acme.test"))
    assert found["count"] == 1 and found["data"][0]["id"] == "cus_Acme01"
    assert result(call(billing, "get_customer", customer_id="cus_Acme01"))["name"] == "Acme Corp"
    subs = result(call(billing, "list_subscriptions", customer_id="cus_Acme01"))["data"]
    assert subs[0]["status"] == "past_due" and subs[0]["plans"][0]["amount"] == "49.00 USD"
    invoices = result(call(billing, "list_invoices", customer_id="cus_Acme01", status="open"))["data"]
    assert [(i["id"], i["amount_due"], i["attempt_count"]) for i in invoices] == [("in_AcmeMay", "49.00 USD", 3)]
    charges = result(call(billing, "list_charges", customer_id="cus_Acme01"))
    failed = [c for c in charges["data"] if c["failure_code"]]
    assert failed[0]["failure_message"] == "Your card has insufficient funds."
    assert failed[0]["outcome_reason"] == "insufficient_funds"
    intent = result(call(billing, "list_payment_intents", customer_id="cus_Acme01"))["data"][0]
    assert intent["decline_code"] == "insufficient_funds" and intent["status"] == "requires_payment_method"
    missing = call(billing, "get_customer", customer_id="cus_nope")
    assert missing.result_is_error and "No such customer: 'cus_nope'" in missing.result_text
    assert stripe.calls("POST") == []


def test_dry_runs_preview_and_change_nothing(in_hartwell: Any, billing: Connector, stripe: StripeSandbox) -> None:
    allow_writes(in_hartwell, billing, scope="dry_run")
    refund = call(billing, "refund", charge_id="ch_AcmeDup", amount=1000, reason="duplicate", dry_run=False)
    preview = result(refund)
    assert refund.status == ActionStatus.DRY_RUN and preview["would_refund"] is True
    assert preview["refund_amount"] == "10.00 USD" and preview["charge_amount"] == "49.00 USD"
    too_much = result(call(billing, "refund", charge_id="ch_AcmeDup", amount=999_999))
    assert too_much["would_refund"] is False and "between 1 and 4900" in too_much["problems"][0]
    assert result(call(billing, "resend_invoice", invoice_id="in_Globex7"))["would_send"] is True
    automatic = result(call(billing, "resend_invoice", invoice_id="in_AcmeMay"))
    assert automatic["would_send"] is False and "charges this invoice automatically" in automatic["problems"][0]
    assert result(call(billing, "retry_invoice_payment", invoice_id="in_AcmeMay"))["would_charge"] == "49.00 USD"
    assert stripe.calls("POST") == [] and stripe.refunds == [] and stripe.sent_invoices == []


def test_writes_carry_the_actions_idempotency_key_and_act_once(
    in_hartwell: Any, billing: Connector, stripe: StripeSandbox
) -> None:
    allow_writes(in_hartwell, billing)
    refund = call(billing, "refund", key="inv-42:step-3", charge_id="ch_AcmeDup", reason="duplicate")
    assert refund.status == ActionStatus.DONE, refund.result_text
    assert result(refund)["amount"] == "49.00 USD" and [r["charge"] for r in stripe.refunds] == ["ch_AcmeDup"]
    sent_key = stripe.calls("POST", "/v1/refunds")[0].headers["idempotency-key"]
    assert sent_key == idempotency_key("refund", "inv-42:step-3", {})
    again = call(billing, "refund", key="inv-42:step-3", charge_id="ch_AcmeDup", reason="duplicate")
    assert again.pk == refund.pk and len(stripe.refunds) == 1
    sent = call(billing, "resend_invoice", invoice_id="in_Globex7")
    assert sent.status == ActionStatus.DONE and stripe.sent_invoices == ["in_Globex7"]
    paid = call(billing, "retry_invoice_payment", invoice_id="in_AcmeMay")
    assert result(paid)["paid"] is True and stripe.objects["in_AcmeMay"]["status"] == "paid"
    assert all(c.headers.get("idempotency-key", "").startswith("gaby-") for c in stripe.calls("POST"))
    assert refund.inverse is None  # a refund cannot be taken back


def test_a_declined_retry_reports_the_decline(in_hartwell: Any, people: dict[str, Any]) -> None:
    seed = {
        **SEED,
        "invoices": [{"id": "in_X", "customer": "cus_Acme01", "amount_due": 1200, "pay_outcome": "insufficient_funds"}],
    }
    with StripeSandbox(seed) as stripe:
        connector = allow_writes(in_hartwell, _connect(in_hartwell, people["alice"], stripe, name="Declines"))
        action = call(connector, "retry_invoice_payment", invoice_id="in_X")
        assert action.status == ActionStatus.FAILED
        assert "insufficient funds" in action.result_text and "decline code: insufficient_funds" in action.result_text
        assert stripe.payment_attempts[0]["outcome"] == "insufficient_funds"


def test_a_5xx_on_a_write_is_retried_with_the_same_key_and_refunds_once(
    in_hartwell: Any, billing: Connector, stripe: StripeSandbox
) -> None:
    allow_writes(in_hartwell, billing)
    stripe.fail_next(500, path="/v1/refunds", method="POST")
    action = call(billing, "refund", charge_id="ch_AcmeDup", amount=500)
    assert action.status == ActionStatus.DONE, action.result_text
    posts = stripe.calls("POST", "/v1/refunds")
    assert [p.status for p in posts] == [500, 200] and len({p.headers["idempotency-key"] for p in posts}) == 1
    assert len(stripe.refunds) == 1 and stripe.objects["ch_AcmeDup"]["amount_refunded"] == 500


def test_lists_follow_has_more_and_starting_after(in_hartwell: Any, people: dict[str, Any]) -> None:
    seed = {
        **SEED,
        "invoices": [{"id": f"in_{n:02d}", "customer": "cus_Acme01", "amount_due": 100 + n} for n in range(25)],
    }
    with StripeSandbox(seed) as stripe:
        connector = _connect(in_hartwell, people["alice"], stripe, name="Paged", page_size=10)
        listed = result(call(connector, "list_invoices", customer_id="cus_Acme01", limit=25))
        assert listed["count"] == 25 and listed["has_more"] is False and listed["data"][0]["id"] == "in_24"
        cursors = [c.query.get("starting_after") for c in stripe.calls("GET", "/v1/invoices")]
        assert cursors == [None, ["in_15"], ["in_05"]]
        first = result(call(connector, "list_invoices", customer_id="cus_Acme01", limit=5))
        assert first["count"] == 5 and first["has_more"] is True


def test_rate_limits_are_waited_out_and_malformed_bodies_reported(billing: Connector, stripe: StripeSandbox) -> None:
    stripe.fail_next(429, path="/v1/customers/cus_Acme01", headers={"Retry-After": "1"})
    assert result(call(billing, "get_customer", customer_id="cus_Acme01"))["id"] == "cus_Acme01"
    assert [c.status for c in stripe.calls("GET", "/v1/customers/cus_Acme01")] == [429, 200]
    stripe.fail_next(502, path="/v1/customers/cus_Acme01", body=b"<html>Bad gateway</html>", times=3)
    broken = call(billing, "get_customer", customer_id="cus_Acme01")
    assert broken.result_is_error and "HTTP 502 with a body that is not JSON" in broken.result_text


def test_a_wrong_key_fails_the_connection_test_with_stripes_reason(
    in_hartwell: Any, people: dict[str, Any], stripe: StripeSandbox
) -> None:
    draft = stripe_draft(name="Billing", api_key="sk_test_wrong_key_0000", api_base=stripe.base_url)
    with pytest.raises(ConnectorUnavailable, match="Stripe rejected the API key: Invalid API Key provided"):
        services.test_connection(client=in_hartwell, draft=draft, actor=people["alice"])
    with pytest.raises(Exception, match="restricted key"):
        services.test_connection(client=in_hartwell, draft=stripe_draft(name="B", api_key="pk_x"), actor=None)


def test_cli_connects_stripe(hartwell: Any, stripe: StripeSandbox) -> None:
    out = StringIO()
    call_command(
        "gaby", "connect", "stripe", "--client", "hartwell", "--api-key", KEY, "--api-base", stripe.base_url, stdout=out
    )
    text = out.getvalue()
    assert "Connected Stripe to Hartwell Law: 10 tools" in text and "write refund" in text and KEY not in text
    with pytest.raises(CommandError, match="restricted key"):
        call_command("gaby", "connect", "stripe", "--client", "hartwell", "--api-key", "nope", "--name", "X")


def test_health_checks_notice_when_stripe_cannot_be_reached(billing: Connector, stripe: StripeSandbox) -> None:
    assert services.check_health(connector=billing) == Status.HEALTHY
    stripe.stop()
    assert services.check_health(connector=billing) == Status.DEGRADED
    billing.refresh_from_db()
    assert "health_check failed" in billing.last_error and "Cannot reach Stripe" in billing.last_error
