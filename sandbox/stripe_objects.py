"""Stripe objects as the API shows them, built from a stand-in seed; the demo seed; Stripe's error body."""

from __future__ import annotations

from typing import Any

from sandbox.base import Response

CREATED = 1_763_000_000  # fixed epoch seconds for seeded objects, so fixtures are reproducible
REFUND_REASONS = ("duplicate", "fraudulent", "requested_by_customer")
DECLINES = {
    "card_declined": ("card_declined", "generic_decline", "Your card was declined."),
    "insufficient_funds": ("card_declined", "insufficient_funds", "Your card has insufficient funds."),
    "expired_card": ("expired_card", None, "Your card has expired."),
}

DEMO_SEED: dict[str, Any] = {
    "api_keys": ["sk_test_gaby_demo"],
    "customers": [
        {"id": "cus_Acme01", "email": "billing@acme.test", "name": "Acme Corp"},
        {"id": "cus_Globex2", "email": "ap@globex.test", "name": "Globex"},
    ],
    "subscriptions": [
        {"id": "sub_Acme01", "customer": "cus_Acme01", "status": "past_due", "plan": "Pro (monthly)", "amount": 4900},
        {"id": "sub_Globex2", "customer": "cus_Globex2", "status": "active", "plan": "Team (yearly)", "amount": 99000},
    ],
    "invoices": [
        {
            "id": "in_AcmeMay",
            "customer": "cus_Acme01",
            "status": "open",
            "amount_due": 4900,
            "attempt_count": 3,
            "collection_method": "charge_automatically",
            "pay_outcome": "succeeds",
            "number": "ACME-0042",
        },
        {"id": "in_AcmeApr", "customer": "cus_Acme01", "status": "paid", "amount_due": 4900, "number": "ACME-0041"},
        {
            "id": "in_Globex7",
            "customer": "cus_Globex2",
            "status": "open",
            "amount_due": 99000,
            "collection_method": "send_invoice",
            "number": "GLBX-0007",
        },
    ],
    "charges": [
        {
            "id": "ch_AcmeFail",
            "customer": "cus_Acme01",
            "amount": 4900,
            "status": "failed",
            "failure_code": "card_declined",
            "decline": "insufficient_funds",
            "invoice": "in_AcmeMay",
            "payment_intent": "pi_AcmeMay",
        },
        {"id": "ch_AcmeApr", "customer": "cus_Acme01", "amount": 4900, "status": "succeeded", "invoice": "in_AcmeApr"},
        {
            "id": "ch_AcmeDup",
            "customer": "cus_Acme01",
            "amount": 4900,
            "status": "succeeded",
            "description": "Duplicate of ch_AcmeApr",
        },
    ],
    "payment_intents": [
        {
            "id": "pi_AcmeMay",
            "customer": "cus_Acme01",
            "amount": 4900,
            "status": "requires_payment_method",
            "invoice": "in_AcmeMay",
            "decline": "insufficient_funds",
            "charge": "ch_AcmeFail",
        },
    ],
}


def error(kind: str, message: str, *, code: str | None = None, param: str | None = None, **extra: Any) -> Any:
    body: dict[str, Any] = {"type": kind, "message": message}
    if code:
        body["code"] = code
    if param:
        body["param"] = param
    body.update({key: value for key, value in extra.items() if value is not None})
    return {"error": body}


def public(obj: dict[str, Any]) -> dict[str, Any]:
    """The object as the API shows it: the stand-in's own knobs (``pay_outcome``, ``decline``) left out."""
    return {key: value for key, value in obj.items() if key not in ("pay_outcome", "decline")}


def missing(kind: str, obj_id: str, *, param: str = "id") -> Response:
    noun = {"payment_intent": "payment_intent", "invoice": "invoice"}.get(kind, kind)
    return Response(
        404, error("invalid_request_error", f"No such {noun}: '{obj_id}'", code="resource_missing", param=param)
    )


def build_customer(raw: dict[str, Any], fallback_id: str) -> dict[str, Any]:
    return {
        "id": raw.get("id", fallback_id),
        "object": "customer",
        "email": raw.get("email"),
        "name": raw.get("name"),
        "description": raw.get("description"),
        "currency": raw.get("currency", "usd"),
        "delinquent": raw.get("delinquent", False),
        "balance": raw.get("balance", 0),
        "livemode": False,
        "metadata": raw.get("metadata", {}),
    }


def build_subscription(raw: dict[str, Any], fallback_id: str) -> dict[str, Any]:
    sub_id = raw.get("id", fallback_id)
    price = {
        "id": f"price_{sub_id}",
        "object": "price",
        "nickname": raw.get("plan", "Standard"),
        "unit_amount": raw.get("amount", 1000),
        "currency": raw.get("currency", "usd"),
        "recurring": {"interval": raw.get("interval", "month")},
    }
    return {
        "id": sub_id,
        "object": "subscription",
        "customer": raw["customer"],
        "status": raw.get("status", "active"),
        "cancel_at_period_end": raw.get("cancel_at_period_end", False),
        "current_period_end": raw.get("current_period_end", CREATED + 30 * 86400),
        "latest_invoice": raw.get("latest_invoice"),
        "items": {
            "object": "list",
            "data": [{"id": f"si_{sub_id}", "object": "subscription_item", "price": price, "quantity": 1}],
            "has_more": False,
        },
    }


def build_invoice(raw: dict[str, Any], fallback_id: str) -> dict[str, Any]:
    status = raw.get("status", "open")
    amount = raw.get("amount_due", 1000)
    paid = status == "paid"
    invoice_id = raw.get("id", fallback_id)
    return {
        "id": invoice_id,
        "object": "invoice",
        "customer": raw["customer"],
        "number": raw.get("number"),
        "status": status,
        "amount_due": amount,
        "amount_paid": amount if paid else 0,
        "amount_remaining": 0 if paid else amount,
        "currency": raw.get("currency", "usd"),
        "paid": paid,
        "collection_method": raw.get("collection_method", "charge_automatically"),
        "attempt_count": raw.get("attempt_count", 1 if paid else 0),
        "customer_email": raw.get("customer_email"),
        "due_date": raw.get("due_date"),
        "next_payment_attempt": raw.get("next_payment_attempt"),
        "hosted_invoice_url": f"https://invoice.stripe.com/i/sandbox/{invoice_id}",
        "pay_outcome": raw.get("pay_outcome", "succeeds"),
        # A seed may date an invoice ("my March invoice" must find March's); else it is stamped when added.
        **({"created": raw["created"]} if "created" in raw else {}),
    }


def build_charge(raw: dict[str, Any], fallback_id: str) -> dict[str, Any]:
    status = raw.get("status", "succeeded")
    decline = raw.get("decline") or raw.get("failure_code")
    failure: tuple[str | None, str | None, str | None] = (None, None, None)
    if status == "failed":
        failure = DECLINES.get(decline or "card_declined", DECLINES["card_declined"])
    outcome = (
        {
            "type": "authorized",
            "network_status": "approved_by_network",
            "reason": None,
            "risk_level": "normal",
            "seller_message": "Payment complete.",
        }
        if status != "failed"
        else {
            "type": "issuer_declined",
            "network_status": "declined_by_network",
            "reason": failure[1] or failure[0],
            "risk_level": "normal",
            "seller_message": f"The bank returned the decline code `{failure[1] or failure[0]}`.",
        }
    )
    return {
        "id": raw.get("id", fallback_id),
        "object": "charge",
        "customer": raw.get("customer"),
        "amount": raw.get("amount", 1000),
        "amount_refunded": raw.get("amount_refunded", 0),
        "currency": raw.get("currency", "usd"),
        "status": status,
        "paid": status == "succeeded",
        "refunded": False,
        "captured": status == "succeeded",
        "description": raw.get("description"),
        "invoice": raw.get("invoice"),
        "payment_intent": raw.get("payment_intent"),
        "failure_code": failure[0],
        "failure_message": failure[2],
        "outcome": outcome,
        "payment_method_details": {"type": "card", "card": {"brand": "visa", "last4": "4242"}},
    }


def build_payment_intent(raw: dict[str, Any], fallback_id: str) -> dict[str, Any]:
    error = None
    if raw.get("decline"):
        code, decline, message = DECLINES.get(raw["decline"], DECLINES["card_declined"])
        error = {
            "type": "card_error",
            "code": code,
            "decline_code": decline,
            "message": message,
            "charge": raw.get("charge"),
        }
    return {
        "id": raw.get("id", fallback_id),
        "object": "payment_intent",
        "customer": raw.get("customer"),
        "amount": raw.get("amount", 1000),
        "currency": raw.get("currency", "usd"),
        "status": raw.get("status", "succeeded"),
        "invoice": raw.get("invoice"),
        "latest_charge": raw.get("charge"),
        "last_payment_error": error,
        "description": raw.get("description"),
    }
