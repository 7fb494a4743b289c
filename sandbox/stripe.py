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

import base64
import copy
import hashlib
import itertools
import re
from typing import Any

from sandbox.base import Request, Response, Sandbox, serve_from_command_line
from sandbox.stripe_objects import (
    CREATED,
    DECLINES,
    DEMO_SEED,
    REFUND_REASONS,
    build_charge,
    build_customer,
    build_invoice,
    build_payment_intent,
    build_subscription,
    error,
    missing,
    public,
)

__all__ = ["DEMO_SEED", "StripeSandbox"]


class StripeSandbox(Sandbox):
    name = "stripe"

    def __init__(self, seed: dict[str, Any] | None = None) -> None:
        super().__init__()
        seed = copy.deepcopy(seed if seed is not None else DEMO_SEED)
        self.api_keys: set[str] = set(seed.get("api_keys", ["sk_test_gaby_demo"]))
        self._seed = seed
        self.reset_data()

    def reset_data(self) -> None:
        """Back to the seeded objects (the same ids), with nothing refunded, sent or paid since."""
        with self.lock:
            self._load(copy.deepcopy(self._seed))

    def _load(self, seed: dict[str, Any]) -> None:
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
            self._add(build_customer(raw, self._id("cus")))
        for raw in seed.get("subscriptions", []):
            self._add(build_subscription(raw, self._id("sub")))
        for raw in seed.get("invoices", []):
            self._add(build_invoice(raw, self._id("in")))
        for raw in seed.get("charges", []):
            self._add(build_charge(raw, self._id("ch")))
        for raw in seed.get("payment_intents", []):
            self._add(build_payment_intent(raw, self._id("pi")))

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
            return error(kind, "Too many requests hit the API too quickly.", code="rate_limit")
        return error(kind, message)

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
            return Response(401, error("invalid_request_error", "You did not provide an API key."))
        if key not in self.api_keys:
            masked = key[:8] + "*" * 12 + key[-4:]
            return Response(401, error("invalid_request_error", f"Invalid API Key provided: {masked}"))
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
                    error(
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
                return missing("invoice", invoice_action.group(1))
            return self._send(invoice) if invoice_action.group(2) == "send" else self._pay(invoice)
        single = re.fullmatch(r"/v1/(customers|subscriptions|invoices|charges|payment_intents|refunds)/([^/]+)", path)
        if method == "GET" and single:
            kind = lists[f"/v1/{single.group(1)}"]
            obj = self.objects.get(single.group(2))
            if obj is None or obj["object"] != kind:
                return missing(kind, single.group(2))
            return Response(200, public(obj))
        return Response(404, error("invalid_request_error", f"Unrecognized request URL ({method}: {path})."))

    def _list(self, kind: str, request: Request) -> Response:
        try:
            limit = int(request.arg("limit", "10") or 10)
        except ValueError:
            return Response(400, error("invalid_request_error", "Invalid integer: limit", param="limit"))
        if not 1 <= limit <= 100:
            return Response(400, error("invalid_request_error", "Limit must be between 1 and 100.", param="limit"))
        # Newest first, as Stripe lists: by creation time (a seed may date objects), then the latest added.
        items = sorted(
            (self.objects[obj_id] for obj_id in reversed(self.order[kind])), key=lambda o: -int(o["created"])
        )
        for field in ("customer", "email", "charge", "payment_intent", "invoice"):
            wanted = request.arg(field)
            if wanted is not None:
                items = [item for item in items if item.get(field) == wanted]
        status = request.arg("status")
        if status == "all" and kind == "subscription":
            pass  # subscriptions: "all" includes canceled ones
        elif status is not None:
            items = [item for item in items if item.get("status") == status]
        elif kind == "subscription":
            items = [item for item in items if item["status"] != "canceled"]  # the API's default
        after = request.arg("starting_after")
        if after is not None:
            ids = [item["id"] for item in items]
            if after not in ids:
                return missing(kind, after, param="starting_after")
            items = items[ids.index(after) + 1 :]
        body = {
            "object": "list",
            "url": request.path,
            "has_more": len(items) > limit,
            "data": [public(item) for item in items[:limit]],
        }
        return Response(200, body)

    def _refund(self, request: Request) -> Response:
        form = {key: values[-1] for key, values in request.form().items()}
        charge: dict[str, Any] | None = None
        if form.get("charge"):
            charge = self.objects.get(form["charge"])
            if charge is None or charge["object"] != "charge":
                return missing("charge", form["charge"], param="charge")
        elif form.get("payment_intent"):
            intent = self.objects.get(form["payment_intent"])
            if intent is None or intent["object"] != "payment_intent":
                return missing("payment_intent", form["payment_intent"], param="payment_intent")
            charge = self.objects.get(intent.get("latest_charge") or "")
            if charge is None or charge["status"] != "succeeded":
                return Response(
                    400,
                    error(
                        "invalid_request_error",
                        f"This PaymentIntent ({intent['id']}) does not have a successful charge to refund.",
                        code="charge_not_refundable",
                    ),
                )
        else:
            return Response(
                400,
                error(
                    "invalid_request_error",
                    "One of the following params should be provided for this request: payment_intent or charge.",
                ),
            )
        reason = form.get("reason")
        if reason is not None and reason not in REFUND_REASONS:
            return Response(
                400,
                error(
                    "invalid_request_error",
                    f"Invalid reason: must be one of {', '.join(REFUND_REASONS)}",
                    param="reason",
                ),
            )
        if charge["status"] != "succeeded":
            return Response(
                400,
                error(
                    "invalid_request_error",
                    f"Charge {charge['id']} has not succeeded; only successful charges can be refunded.",
                    code="charge_not_refundable",
                ),
            )
        remaining = charge["amount"] - charge["amount_refunded"]
        if remaining <= 0:
            return Response(
                400,
                error(
                    "invalid_request_error",
                    f"Charge {charge['id']} has already been refunded.",
                    code="charge_already_refunded",
                ),
            )
        try:
            amount = int(form.get("amount") or remaining)
        except ValueError:
            return Response(400, error("invalid_request_error", "Invalid integer: amount", param="amount"))
        if amount <= 0 or amount > remaining:
            return Response(
                400,
                error(
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
        self.refunds.append(public(refund))
        return Response(200, public(refund))

    def _send(self, invoice: dict[str, Any]) -> Response:
        if invoice["collection_method"] != "send_invoice":
            return Response(
                400,
                error(
                    "invalid_request_error",
                    "You can only manually send an invoice if its collection method is 'send_invoice'.",
                    code="invoice_not_editable",
                ),
            )
        if invoice["status"] != "open":
            return Response(
                400,
                error(
                    "invalid_request_error",
                    f"Invoice {invoice['id']} is {invoice['status']}; only open invoices can be sent.",
                    code="invoice_not_editable",
                ),
            )
        self.sent_invoices.append(invoice["id"])
        return Response(200, public(invoice))

    def _pay(self, invoice: dict[str, Any]) -> Response:
        if invoice["status"] == "paid":
            return Response(400, error("invalid_request_error", "Invoice is already paid", code="invoice_already_paid"))
        if invoice["status"] != "open":
            return Response(
                400,
                error(
                    "invalid_request_error",
                    f"Invoice {invoice['id']} is {invoice['status']}; only open invoices can be paid.",
                    code="invoice_not_open",
                ),
            )
        invoice["attempt_count"] += 1
        outcome = invoice.get("pay_outcome", "succeeds")
        charge = self._add(
            build_charge(
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
            return Response(402, error("card_error", message, code=code, decline_code=decline, charge=charge["id"]))
        invoice.update(status="paid", amount_paid=invoice["amount_due"], amount_remaining=0, paid=True)
        return Response(200, public(invoice))


def main() -> None:
    serve_from_command_line(
        StripeSandbox(DEMO_SEED), description="Serve the Stripe stand-in with its demo seed.", default_port=12111
    )


if __name__ == "__main__":
    main()
