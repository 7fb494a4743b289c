"""A Stripe stand-in: the REST API parts Gaby's Stripe connector uses, stateful and seedable.

Follows Stripe's documented API: ``Authorization: Bearer sk_...`` (or HTTP Basic with the key as user),
form-encoded POST bodies, list objects (``{"object": "list", "data": [...], "has_more": ...}``) paged with
``limit`` (1-100, default 10) and ``starting_after``, newest first; ``{"error": {"type", "code",
"message", "param"}}`` errors (400 invalid request, 401 bad key, 402 card errors, 404 missing);
``Idempotency-Key`` on POST replays the first response (``Idempotent-Replayed: true``) and refuses the
key with different parameters (``idempotency_error``).

Seed (ids optional, generated when missing)::

    {"api_keys": ["sk_test_gaby"],
     "customers": [{"id": "cus_A", "email": "ops@acme.test", "name": "Acme"}],
     "subscriptions": [{"customer": "cus_A", "status": "past_due", "plan": "Pro", "amount": 4900}],
     "invoices": [{"id": "in_1", "customer": "cus_A", "status": "open", "amount_due": 4900,
                   "collection_method": "charge_automatically", "pay_outcome": "card_declined"}],
     "charges": [{"id": "ch_1", "customer": "cus_A", "amount": 4900, "status": "succeeded"}],
     "payment_intents": [{"customer": "cus_A", "amount": 4900, "status": "requires_payment_method",
                          "last_payment_error": {"code": "card_declined", "decline_code": "insufficient_funds"}}]}

Inspect: ``refunds``, ``sent_invoices``, ``payment_attempts``, ``objects[id]``, ``calls(...)`` (each with
its headers, e.g. ``idempotency-key``). Run alone for the demo: ``python -m sandbox.stripe --port 12111``.
"""

from __future__ import annotations

import argparse
import base64
import copy
import hashlib
import itertools
import re
import time
from typing import Any

from sandbox.base import Request, Response, Sandbox

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


def _error(kind: str, message: str, *, code: str | None = None, param: str | None = None, **extra: Any) -> Any:
    body: dict[str, Any] = {"type": kind, "message": message}
    if code:
        body["code"] = code
    if param:
        body["param"] = param
    body.update({key: value for key, value in extra.items() if value is not None})
    return {"error": body}


class StripeSandbox(Sandbox):
    name = "stripe"

    def __init__(self, seed: dict[str, Any] | None = None) -> None:
        super().__init__()
        seed = copy.deepcopy(seed if seed is not None else DEMO_SEED)
        self.api_keys: set[str] = set(seed.get("api_keys", ["sk_test_gaby_demo"]))
        self._ids = itertools.count(1)
        self._clock = itertools.count(1)
        self.objects: dict[str, dict[str, Any]] = {}
        self.order: dict[str, list[str]] = {
            kind: [] for kind in ("customer", "subscription", "invoice", "charge", "payment_intent", "refund")
        }
        self.refunds: list[dict[str, Any]] = []
        self.sent_invoices: list[str] = []
        self.payment_attempts: list[dict[str, Any]] = []
        self._idempotent: dict[str, tuple[str, Response]] = {}
        for raw in seed.get("customers", []):
            self._add(_customer(raw, self._id("cus")))
        for raw in seed.get("subscriptions", []):
            self._add(_subscription(raw, self._id("sub")))
        for raw in seed.get("invoices", []):
            self._add(_invoice(raw, self._id("in")))
        for raw in seed.get("charges", []):
            self._add(_charge(raw, self._id("ch")))
        for raw in seed.get("payment_intents", []):
            self._add(_payment_intent(raw, self._id("pi")))

    def _id(self, prefix: str) -> str:
        return f"{prefix}_sbx{next(self._ids):06d}"

    def _add(self, obj: dict[str, Any]) -> dict[str, Any]:
        obj.setdefault("created", CREATED + next(self._clock))
        self.objects[obj["id"]] = obj
        self.order[obj["object"]].append(obj["id"])
        return obj

    def error_body(self, status: int, message: str) -> Any:
        kind = "api_error" if status >= 500 else "invalid_request_error"
        if status == 429:
            return _error(kind, "Too many requests hit the API too quickly.", code="rate_limit")
        return _error(kind, message)

    # --- HTTP -----------------------------------------------------------------------------------
    def handle(self, request: Request) -> Response:
        response = self._authenticated(request)
        response.headers.setdefault("Request-Id", f"req_sbx{len(self.requests) + 1:06d}")
        return response

    def _key(self, request: Request) -> str:
        scheme, _, value = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() == "bearer":
            return value
        if scheme.lower() == "basic":
            try:
                return base64.b64decode(value).decode().partition(":")[0]
            except ValueError:
                return ""
        return ""

    def _authenticated(self, request: Request) -> Response:
        key = self._key(request)
        if not key:
            return Response(401, _error("invalid_request_error", "You did not provide an API key."))
        if key not in self.api_keys:
            masked = key[:8] + "*" * 12 + key[-4:]
            return Response(401, _error("invalid_request_error", f"Invalid API Key provided: {masked}"))
        if request.method == "POST" and request.headers.get("idempotency-key"):
            return self._idempotently(request, request.headers["idempotency-key"])
        return self._route(request)

    def _idempotently(self, request: Request, key: str) -> Response:
        fingerprint = hashlib.sha256(f"{request.path}\n".encode() + request.body).hexdigest()
        seen = self._idempotent.get(key)
        if seen is not None:
            if seen[0] != fingerprint:
                return Response(
                    400,
                    _error(
                        "idempotency_error",
                        f"Keys for idempotent requests can only be used with the same parameters they were first used "
                        f"with. Try using a key other than '{key}' if you meant to execute a different request.",
                    ),
                )
            first = seen[1]
            return Response(first.status, first.body, {**first.headers, "Idempotent-Replayed": "true"})
        response = self._route(request)
        if response.status < 500:  # Stripe does not save 5xx results: a retry runs again
            self._idempotent[key] = (fingerprint, Response(response.status, response.body, dict(response.headers)))
        return response

    def _route(self, request: Request) -> Response:
        path, method = request.path, request.method
        lists = {
            "/v1/customers": "customer",
            "/v1/subscriptions": "subscription",
            "/v1/invoices": "invoice",
            "/v1/charges": "charge",
            "/v1/payment_intents": "payment_intent",
            "/v1/refunds": "refund",
        }
        if method == "GET" and path in lists:
            return self._list(lists[path], request)
        if method == "POST" and path == "/v1/refunds":
            return self._refund(request)
        invoice_action = re.fullmatch(r"/v1/invoices/([^/]+)/(send|pay)", path)
        if method == "POST" and invoice_action:
            invoice = self.objects.get(invoice_action.group(1))
            if invoice is None or invoice["object"] != "invoice":
                return _missing("invoice", invoice_action.group(1))
            return self._send(invoice) if invoice_action.group(2) == "send" else self._pay(invoice)
        single = re.fullmatch(r"/v1/(customers|subscriptions|invoices|charges|payment_intents|refunds)/([^/]+)", path)
        if method == "GET" and single:
            kind = lists[f"/v1/{single.group(1)}"]
            obj = self.objects.get(single.group(2))
            if obj is None or obj["object"] != kind:
                return _missing(kind, single.group(2))
            return Response(200, _public(obj))
        return Response(404, _error("invalid_request_error", f"Unrecognized request URL ({method}: {path})."))

    def _list(self, kind: str, request: Request) -> Response:
        try:
            limit = int(request.arg("limit", "10") or 10)
        except ValueError:
            return Response(400, _error("invalid_request_error", "Invalid integer: limit", param="limit"))
        if not 1 <= limit <= 100:
            return Response(400, _error("invalid_request_error", "Limit must be between 1 and 100.", param="limit"))
        items = [self.objects[obj_id] for obj_id in reversed(self.order[kind])]  # newest first
        for field in ("customer", "email", "charge", "payment_intent", "invoice"):
            wanted = request.arg(field)
            if wanted is not None:
                items = [item for item in items if item.get(field) == wanted]
        status = request.arg("status")
        if kind == "subscription" and status != "all":
            items = (
                [item for item in items if item["status"] == status]
                if status
                else [item for item in items if item["status"] != "canceled"]
            )
        elif status is not None:
            items = [item for item in items if item.get("status") == status]
        after = request.arg("starting_after")
        if after is not None:
            ids = [item["id"] for item in items]
            if after not in ids:
                return _missing(kind, after, param="starting_after")
            items = items[ids.index(after) + 1 :]
        body = {
            "object": "list",
            "url": request.path,
            "has_more": len(items) > limit,
            "data": [_public(item) for item in items[:limit]],
        }
        return Response(200, body)

    def _refund(self, request: Request) -> Response:
        form = {key: values[-1] for key, values in request.form().items()}
        charge: dict[str, Any] | None = None
        if form.get("charge"):
            charge = self.objects.get(form["charge"])
            if charge is None or charge["object"] != "charge":
                return _missing("charge", form["charge"], param="charge")
        elif form.get("payment_intent"):
            intent = self.objects.get(form["payment_intent"])
            if intent is None or intent["object"] != "payment_intent":
                return _missing("payment_intent", form["payment_intent"], param="payment_intent")
            charge = self.objects.get(intent.get("latest_charge") or "")
            if charge is None or charge["status"] != "succeeded":
                return Response(
                    400,
                    _error(
                        "invalid_request_error",
                        f"This PaymentIntent ({intent['id']}) does not have a successful charge to refund.",
                        code="charge_not_refundable",
                    ),
                )
        else:
            return Response(
                400,
                _error(
                    "invalid_request_error",
                    "One of the following params should be provided for this request: payment_intent or charge.",
                ),
            )
        reason = form.get("reason")
        if reason is not None and reason not in REFUND_REASONS:
            return Response(
                400,
                _error(
                    "invalid_request_error",
                    f"Invalid reason: must be one of {', '.join(REFUND_REASONS)}",
                    param="reason",
                ),
            )
        if charge["status"] != "succeeded":
            return Response(
                400,
                _error(
                    "invalid_request_error",
                    f"Charge {charge['id']} has not succeeded; only successful charges can be refunded.",
                    code="charge_not_refundable",
                ),
            )
        remaining = charge["amount"] - charge["amount_refunded"]
        if remaining <= 0:
            return Response(
                400,
                _error(
                    "invalid_request_error",
                    f"Charge {charge['id']} has already been refunded.",
                    code="charge_already_refunded",
                ),
            )
        try:
            amount = int(form.get("amount") or remaining)
        except ValueError:
            return Response(400, _error("invalid_request_error", "Invalid integer: amount", param="amount"))
        if amount <= 0 or amount > remaining:
            return Response(
                400,
                _error(
                    "invalid_request_error",
                    f"Refund amount ({amount}) is greater than unrefunded amount on charge ({remaining})",
                    code="amount_too_large",
                    param="amount",
                ),
            )
        refund = self._add(
            {
                "id": self._id("re"),
                "object": "refund",
                "amount": amount,
                "charge": charge["id"],
                "payment_intent": charge.get("payment_intent"),
                "currency": charge["currency"],
                "reason": reason,
                "status": "succeeded",
                "metadata": {},
            }
        )
        charge["amount_refunded"] += amount
        charge["refunded"] = charge["amount_refunded"] >= charge["amount"]
        self.refunds.append(_public(refund))
        return Response(200, _public(refund))

    def _send(self, invoice: dict[str, Any]) -> Response:
        if invoice["collection_method"] != "send_invoice":
            return Response(
                400,
                _error(
                    "invalid_request_error",
                    "You can only manually send an invoice if its collection method is 'send_invoice'.",
                    code="invoice_not_editable",
                ),
            )
        if invoice["status"] != "open":
            return Response(
                400,
                _error(
                    "invalid_request_error",
                    f"Invoice {invoice['id']} is {invoice['status']}; only open invoices can be sent.",
                    code="invoice_not_editable",
                ),
            )
        self.sent_invoices.append(invoice["id"])
        return Response(200, _public(invoice))

    def _pay(self, invoice: dict[str, Any]) -> Response:
        if invoice["status"] == "paid":
            return Response(
                400, _error("invalid_request_error", "Invoice is already paid", code="invoice_already_paid")
            )
        if invoice["status"] != "open":
            return Response(
                400,
                _error(
                    "invalid_request_error",
                    f"Invoice {invoice['id']} is {invoice['status']}; only open invoices can be paid.",
                    code="invoice_not_open",
                ),
            )
        invoice["attempt_count"] += 1
        outcome = invoice.get("pay_outcome", "succeeds")
        charge = self._add(
            _charge(
                {
                    "customer": invoice["customer"],
                    "amount": invoice["amount_due"],
                    "currency": invoice["currency"],
                    "invoice": invoice["id"],
                    "status": "succeeded" if outcome == "succeeds" else "failed",
                    "decline": None if outcome == "succeeds" else outcome,
                },
                self._id("ch"),
            )
        )
        self.payment_attempts.append({"invoice": invoice["id"], "outcome": outcome, "charge": charge["id"]})
        if outcome != "succeeds":
            code, decline, message = DECLINES.get(outcome, DECLINES["card_declined"])
            return Response(402, _error("card_error", message, code=code, decline_code=decline, charge=charge["id"]))
        invoice.update(status="paid", amount_paid=invoice["amount_due"], amount_remaining=0, paid=True)
        return Response(200, _public(invoice))


def _public(obj: dict[str, Any]) -> dict[str, Any]:
    """The object as the API shows it: the stand-in's own knobs (``pay_outcome``, ``decline``) left out."""
    return {key: value for key, value in obj.items() if key not in ("pay_outcome", "decline")}


def _missing(kind: str, obj_id: str, *, param: str = "id") -> Response:
    noun = {"payment_intent": "payment_intent", "invoice": "invoice"}.get(kind, kind)
    return Response(
        404, _error("invalid_request_error", f"No such {noun}: '{obj_id}'", code="resource_missing", param=param)
    )


def _customer(raw: dict[str, Any], fallback_id: str) -> dict[str, Any]:
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


def _subscription(raw: dict[str, Any], fallback_id: str) -> dict[str, Any]:
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


def _invoice(raw: dict[str, Any], fallback_id: str) -> dict[str, Any]:
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
    }


def _charge(raw: dict[str, Any], fallback_id: str) -> dict[str, Any]:
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


def _payment_intent(raw: dict[str, Any], fallback_id: str) -> dict[str, Any]:
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


def main() -> None:
    parser = argparse.ArgumentParser(description="Serve the Stripe stand-in with its demo seed.")
    parser.add_argument("--port", type=int, default=12111)
    options = parser.parse_args()
    sandbox = StripeSandbox(DEMO_SEED)
    print(sandbox.start(port=options.port), flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        sandbox.stop()


if __name__ == "__main__":
    main()
